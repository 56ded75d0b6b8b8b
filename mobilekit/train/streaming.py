"""Training data streamed from the dataset cache (`data.stream: true`).

The train split is built once into the content-addressed cache (or reused: whoever asked first
built it) and read through tf.data every epoch, so memory is bounded by the shuffle buffer, the
prefetch depth and the hook pool, not by the dataset's size. The dataset is held in use for the
whole run, so `dataset gc` never removes it under a trainer.

Model-in-the-loop epoch hooks (iterative click training) need the model's predictions on
examples they then change. Streamed, they work on a pool: the first `data.hook_pool` examples of
the cache's deterministic order, kept in memory as a `Split`. The pool is left out of the stream
and mixed back into every epoch (`sample_from_datasets`, in proportion), so every example is seen
once per epoch and the pool's examples carry the clicks the hooks added."""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from mobilekit.core.family import EXTRA_PREFIX, ModelFamily, Split
from mobilekit.data.cache.splits import config_store, ensure_split
from mobilekit.data.cache.stream import first_examples, stream_examples

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig


class StreamedTrainSplit(contextlib.AbstractContextManager):
    """The train split of `config`, ready in the cache and held in use while open."""

    def __init__(self, family: ModelFamily, config: "BuildConfig") -> None:
        self.config = config
        store = config_store(config)
        built = ensure_split(config, "train", store)
        self._in_use = store.using(built.id)
        self.index: dict[str, Any] = self._in_use.__enter__()
        self.path, self.dataset_id = built.path, built.id
        self.count = int(self.index["count"])
        io = family.io(config)
        self.input_names = tuple(t.name for t in io.inputs)
        self.target_names = tuple(k for k in self.index["spec"] if k not in self.input_names and not k.startswith(EXTRA_PREFIX))
        pool_size = min(config.data.hook_pool, self.count) if family.epoch_hooks(config) else 0
        self.pool: Split | None = (family.assemble_split(config, first_examples(self.path, self.index, pool_size))
                                   if pool_size else None)

    def __len__(self) -> int:
        return self.count

    def epoch_dataset(self, epoch: int):
        """(inputs, targets) batches of one epoch: the streamed examples and the pool, mixed."""
        from mobilekit.core.tf import tf_and_keras

        tf, _ = tf_and_keras()
        data, keys = self.config.data, self.input_names + self.target_names
        seed = self.config.seed * 1000 + epoch
        pooled = len(self.pool) if self.pool is not None else 0
        ds = stream_examples(self.path, self.index, keys, shuffle_buffer=data.shuffle_buffer, seed=seed, skip=pooled)
        if pooled:
            arrays = {**self.pool.inputs, **self.pool.targets}
            pool = tf.data.Dataset.from_tensor_slices({k: arrays[k] for k in keys}).shuffle(pooled, seed=seed)
            if pooled < self.count:
                share = pooled / self.count
                ds = tf.data.Dataset.sample_from_datasets([ds, pool], weights=[1.0 - share, share], seed=seed,
                                                          stop_on_empty_dataset=False)
            else:
                ds = pool
        inputs, targets = self.input_names, self.target_names
        ds = ds.batch(self.config.training.batch_size).map(lambda ex: ({k: ex[k] for k in inputs}, {k: ex[k] for k in targets}))
        return ds.prefetch(tf.data.AUTOTUNE)

    def __exit__(self, *exc) -> None:
        self._in_use.__exit__(*exc)
