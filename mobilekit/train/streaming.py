"""Training data streamed from the dataset cache (`data.stream: true`).

The train split is built once into the content-addressed cache (or reused: whoever asked first
built it) and read through tf.data every epoch, so memory is bounded by the shuffle buffer, the
prefetch depth and the hook pool, not by the dataset's size. The dataset is held in use for the
whole run, so `dataset gc` never removes it under a trainer.

Model-in-the-loop epoch hooks (iterative click training) need the model's predictions on
examples they then change. Streamed, they work on a pool: the leading shards holding at least
`data.hook_pool` examples, kept in memory as a `Split`. Those shards are left out of the stream
and the pool is mixed back into every epoch (`sample_from_datasets`, in proportion), so every
example is seen once per epoch and the pool's examples carry the clicks the hooks added.

With `data.service` (a tf.data service dispatcher, `mobilekit data-service`), reading, parsing and
shuffling the streamed shards run on the service's workers ("distributed_epoch": each shard goes
to one worker, each example is produced once per epoch); the trainer only mixes, batches and
trains. Workers read the shards themselves, so the cache must be at a path or URL they reach."""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from mobilekit.core.family import EXTRA_PREFIX, ModelFamily, Split
from mobilekit.data.cache.splits import config_store, ensure_split
from mobilekit.data.cache.stream import PREFETCH, shard_examples_numpy, split_inputs_targets, stream_examples

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig


def _shards_holding(index: dict[str, Any], examples: int) -> int:
    """How many leading shards hold at least `examples` examples (0 for none)."""
    held = 0
    for count, shard in enumerate(index["shards"]):
        if held >= examples:
            return count
        held += shard["count"]
    return len(index["shards"])


class StreamedTrainSplit(contextlib.AbstractContextManager):
    """The train split of `config`, ready in the cache and held in use while open."""

    def __init__(self, family: ModelFamily, config: "BuildConfig") -> None:
        self.config = config
        store = config_store(config)
        built = ensure_split(config, "train", store, shard_examples=config.data.shard_examples)
        self._in_use = store.using(built.id)
        self.index: dict[str, Any] = self._in_use.__enter__()
        self.path, self.dataset_id = built.path, built.id
        self.count = int(self.index["count"])
        io = family.io(config)
        self.input_names = tuple(t.name for t in io.inputs)
        self.target_names = tuple(k for k in self.index["spec"] if k not in self.input_names and not k.startswith(EXTRA_PREFIX))
        self.pool_shards = _shards_holding(self.index, config.data.hook_pool) if family.epoch_hooks(config) else 0
        self.pool: Split | None = (family.assemble_split(config, shard_examples_numpy(self.path, self.index, self.pool_shards))
                                   if self.pool_shards else None)

    def __len__(self) -> int:
        return self.count

    def epoch_dataset(self, epoch: int):
        """(inputs, targets) batches of one epoch: the streamed examples and the pool, mixed."""
        from mobilekit.core.tf import tf_and_keras

        tf, _ = tf_and_keras()
        data, keys = self.config.data, self.input_names + self.target_names
        seed = self.config.seed * 1000 + epoch
        pooled = len(self.pool) if self.pool is not None else 0
        ds = None
        if self.pool_shards < len(self.index["shards"]):
            ds = stream_examples(self.path, self.index, keys, shuffle_buffer=data.shuffle_buffer, seed=seed,
                                 skip_shards=self.pool_shards)
            if data.service:
                ds = ds.apply(tf.data.experimental.service.distribute("distributed_epoch", f"grpc://{data.service}"))
        if pooled:
            arrays = {**self.pool.inputs, **self.pool.targets}
            pool = tf.data.Dataset.from_tensor_slices({k: arrays[k] for k in keys}).shuffle(pooled, seed=seed)
            if ds is not None:
                share = pooled / self.count
                ds = tf.data.Dataset.sample_from_datasets([ds, pool], weights=[1.0 - share, share], seed=seed,
                                                          stop_on_empty_dataset=False)
            else:
                ds = pool
        ds = split_inputs_targets(ds.batch(self.config.training.batch_size), self.input_names, self.target_names)
        return ds.prefetch(PREFETCH)

    def __exit__(self, *exc) -> None:
        self._in_use.__exit__(*exc)
