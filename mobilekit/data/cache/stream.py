"""A ready cached dataset as a `tf.data` pipeline: shards read interleaved, examples parsed in
parallel, shuffled with a bounded buffer, batched and prefetched. Memory is bounded by the
shuffle buffer and prefetch depth, never by the dataset's size."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from mobilekit.data.cache import files
from mobilekit.data.cache.codec import tf_parser


def stream_examples(folder: str, index: Mapping[str, Any], keys: Sequence[str], *, batch_size: int | None = None,
                    shuffle_buffer: int = 0, seed: int = 0, repeat: bool = False, deterministic: bool = True,
                    cycle_length: int = 4):
    """`tf.data.Dataset` of {key: tensor} (batched when `batch_size`) from the dataset in `folder`.
    `deterministic=True` keeps the order a function of `seed` whatever the parallelism."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    missing = [k for k in keys if k not in index["spec"]]
    if missing:
        raise KeyError(f"dataset {index['id']} has no {', '.join(missing)} (it has {', '.join(index['spec'])})")
    paths = [files.join(folder, shard["file"]) for shard in index["shards"]]
    autotune = tf.data.AUTOTUNE
    options = tf.data.Options()
    options.deterministic = deterministic
    shard_paths = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle_buffer:
        shard_paths = shard_paths.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = shard_paths.interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type=index.get("compression", "GZIP")),
        cycle_length=min(cycle_length, len(paths)), num_parallel_calls=autotune, deterministic=deterministic)
    if repeat:
        ds = ds.repeat()
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(tf_parser(index["spec"], tuple(keys)), num_parallel_calls=autotune, deterministic=deterministic)
    if batch_size:
        ds = ds.batch(batch_size, drop_remainder=False)
    return ds.prefetch(autotune).with_options(options)


def split_inputs_targets(ds, input_names: Sequence[str], target_names: Sequence[str]):
    """Map {key: tensor} batches to the (inputs, targets) pairs Keras `fit` takes."""
    inputs, targets = tuple(input_names), tuple(target_names)
    return ds.map(lambda ex: ({k: ex[k] for k in inputs}, {k: ex[k] for k in targets}))
