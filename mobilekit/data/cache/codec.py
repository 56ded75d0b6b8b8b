"""One example (a dict of NumPy arrays) as a `tf.train.Example`: per key the raw bytes and the
shape; the dtype of each key is recorded once in the dataset's index (`spec_of`).

A family may store a key more compactly (`ModelFamily.example_storage`): "unit8" / "unit16" keep
a float in [0, 1] as 8 / 16-bit levels (exact for 8-bit photos and binary masks; 16-bit levels
are within 7.7e-6 of any value) and are decoded back to float32."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

SHAPE_SUFFIX = "/shape"
STORAGE = {"unit8": (np.uint8, 255.0), "unit16": (np.uint16, 65535.0)}  # encoding -> (stored dtype, levels)


def _stored(value: np.ndarray, encoding: str | None) -> np.ndarray:
    if encoding is None:
        return np.ascontiguousarray(value)
    dtype, levels = STORAGE[encoding]
    return np.round(np.clip(value, 0.0, 1.0) * levels).astype(dtype)


def spec_of(example: Mapping[str, np.ndarray], storage: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """key -> {dtype, shape[, stored]}: what the index stores about the first example."""
    storage = storage or {}
    unknown = sorted(set(storage.values()) - set(STORAGE))
    if unknown:
        raise ValueError(f"unknown example storage {unknown}; accepted: {sorted(STORAGE)}")
    spec = {}
    for key, value in sorted(example.items()):
        spec[key] = {"dtype": np.asarray(value).dtype.str, "shape": list(np.shape(value))}
        if key in storage:
            spec[key]["stored"] = storage[key]
    return spec


def merge_spec(spec: dict[str, dict[str, Any]], example: Mapping[str, np.ndarray]) -> None:
    """Widen `spec` with another example: a dimension that differs becomes None (variable);
    keys or dtypes that differ are a bug in the source (ValueError)."""
    if set(spec) != set(example):
        raise ValueError(f"examples disagree on their keys: {sorted(spec)} vs {sorted(example)}")
    for key, value in example.items():
        entry, array = spec[key], np.asarray(value)
        if array.dtype.str != entry["dtype"] or array.ndim != len(entry["shape"]):
            raise ValueError(f"example key '{key}' changed from {entry['dtype']}{entry['shape']} to {array.dtype.str}{list(array.shape)}")
        entry["shape"] = [d if d == n else None for d, n in zip(entry["shape"], array.shape)]


def encode(example: Mapping[str, np.ndarray], spec: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """The serialized `tf.train.Example` (keys with a `stored` encoding in `spec` compacted)."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    features = {}
    for key, value in sorted(example.items()):
        array = _stored(value, (spec or {}).get(key, {}).get("stored"))
        features[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[array.tobytes()]))
        features[key + SHAPE_SUFFIX] = tf.train.Feature(int64_list=tf.train.Int64List(value=list(array.shape)))
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def decode_numpy(record: bytes, spec: Mapping[str, Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """A serialized example back to arrays (tests, inspection)."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    parsed = tf.train.Example.FromString(record).features.feature
    out = {}
    for key, entry in spec.items():
        stored = entry.get("stored")
        dtype = STORAGE[stored][0] if stored else np.dtype(entry["dtype"])
        array = np.frombuffer(parsed[key].bytes_list.value[0], dtype).reshape(tuple(parsed[key + SHAPE_SUFFIX].int64_list.value))
        out[key] = (array.astype(np.float32) / np.float32(STORAGE[stored][1])).astype(entry["dtype"]) if stored else array.copy()
    return out


def tf_parser(spec: Mapping[str, Mapping[str, Any]], keys: tuple[str, ...]):
    """A graph function: serialized example -> {key: tensor} for `keys`, static shapes set where fixed."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    description = {}
    for key in keys:
        description[key] = tf.io.FixedLenFeature([], tf.string)
        description[key + SHAPE_SUFFIX] = tf.io.FixedLenFeature([len(spec[key]["shape"])], tf.int64)

    def parse(record):
        parsed = tf.io.parse_single_example(record, description)
        out = {}
        for key in keys:
            stored = spec[key].get("stored")
            dtype = tf.dtypes.as_dtype(STORAGE[stored][0] if stored else np.dtype(spec[key]["dtype"]))
            tensor = tf.reshape(tf.io.decode_raw(parsed[key], dtype), parsed[key + SHAPE_SUFFIX])
            if stored:
                tensor = tf.cast(tf.cast(tensor, tf.float32) / STORAGE[stored][1], tf.dtypes.as_dtype(np.dtype(spec[key]["dtype"])))
            tensor.set_shape(spec[key]["shape"])
            out[key] = tensor
        return out

    return parse
