"""A ready cached dataset as a `tf.data` pipeline: shards read interleaved, examples parsed in
parallel, shuffled with a bounded buffer, batched and prefetched. Memory is bounded by the
shuffle buffer and prefetch depth, never by the dataset's size."""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from mobilekit.data.cache import files
from mobilekit.data.cache.codec import tf_parser


# Fixed, small parallelism and prefetch depth rather than AUTOTUNE, whose buffers may grow to a share
# of the machine's RAM: the pipeline's memory stays a small constant (decoding is cheap next to a step).
PARALLEL_CALLS = max(1, min(4, os.cpu_count() or 1))
PREFETCH = 2


def records(folder: str, index: Mapping[str, Any], *, skip_shards: int = 0, cycle_length: int = 4):
    """The dataset's serialized examples in one deterministic order: shards (after the first
    `skip_shards`) read in parallel and interleaved round-robin. The source is the list of shard
    paths, so tf.data service can split an epoch across its workers by file."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    paths = [files.join(folder, shard["file"]) for shard in index["shards"]][skip_shards:]
    compression = index.get("compression", "GZIP")
    return tf.data.Dataset.from_tensor_slices(paths).interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type=compression),
        cycle_length=max(1, min(cycle_length, len(paths))), block_length=1,
        num_parallel_calls=max(1, min(cycle_length, len(paths))), deterministic=True)


def stream_examples(folder: str, index: Mapping[str, Any], keys: Sequence[str], *, batch_size: int | None = None,
                    shuffle_buffer: int = 0, seed: int = 0, skip_shards: int = 0, cycle_length: int = 4):
    """`tf.data.Dataset` of {key: tensor} (batched when `batch_size`) from the dataset in `folder`,
    its first `skip_shards` shards left out. Deterministic for `seed`; reshuffled every epoch."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    missing = [k for k in keys if k not in index["spec"]]
    if missing:
        raise KeyError(f"dataset {index['id']} has no {', '.join(missing)} (it has {', '.join(index['spec'])})")
    ds = records(folder, index, skip_shards=skip_shards, cycle_length=cycle_length)
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(tf_parser(index["spec"], tuple(keys)), num_parallel_calls=PARALLEL_CALLS, deterministic=True)
    if batch_size:
        ds = ds.batch(batch_size, drop_remainder=False)
    return ds.prefetch(PREFETCH)


def shard_examples_numpy(folder: str, index: Mapping[str, Any], shards: int) -> list[dict]:
    """Every example of the first `shards` shards, in file order, as NumPy (`extra/*` keys included)."""
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.data.cache.codec import decode_numpy

    tf, _ = tf_and_keras()
    paths = [files.join(folder, shard["file"]) for shard in index["shards"][:shards]]
    ds = tf.data.TFRecordDataset(paths, compression_type=index.get("compression", "GZIP"))
    return [decode_numpy(record, index["spec"]) for record in ds.as_numpy_iterator()]


def split_inputs_targets(ds, input_names: Sequence[str], target_names: Sequence[str]):
    """Map {key: tensor} batches to the (inputs, targets) pairs Keras `fit` takes."""
    inputs, targets = tuple(input_names), tuple(target_names)
    return ds.map(lambda ex: ({k: ex[k] for k in inputs}, {k: ex[k] for k in targets}))
