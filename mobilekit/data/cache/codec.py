"""One example (a dict of NumPy arrays) as a `tf.train.Example`: per key the raw bytes and the
shape; the dtype of each key is recorded once in the dataset's index (`spec_of`)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

SHAPE_SUFFIX = "/shape"


def spec_of(example: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """key -> {dtype, shape}: what the index stores about the first example."""
    return {key: {"dtype": np.asarray(value).dtype.str, "shape": list(np.shape(value))} for key, value in sorted(example.items())}


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


def encode(example: Mapping[str, np.ndarray]) -> bytes:
    """The serialized `tf.train.Example`."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    features = {}
    for key, value in sorted(example.items()):
        array = np.ascontiguousarray(value)
        features[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[array.tobytes()]))
        features[key + SHAPE_SUFFIX] = tf.train.Feature(int64_list=tf.train.Int64List(value=list(array.shape)))
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def decode_numpy(record: bytes, spec: Mapping[str, Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """A serialized example back to arrays (tests, inspection)."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    parsed = tf.train.Example.FromString(record).features.feature
    return {key: np.frombuffer(parsed[key].bytes_list.value[0], np.dtype(entry["dtype"]))
            .reshape(tuple(parsed[key + SHAPE_SUFFIX].int64_list.value)).copy() for key, entry in spec.items()}


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
            dtype = tf.dtypes.as_dtype(np.dtype(spec[key]["dtype"]))
            tensor = tf.reshape(tf.io.decode_raw(parsed[key], dtype), parsed[key + SHAPE_SUFFIX])
            tensor.set_shape(spec[key]["shape"])
            out[key] = tensor
        return out

    return parse
