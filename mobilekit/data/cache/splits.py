"""A config's split in the cache: made ready once (`ensure_split`), then streamed."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from mobilekit.core.family import get_family, split_size
from mobilekit.data.cache.identity import DatasetKey, dataset_key
from mobilekit.data.cache.store import SHARD_EXAMPLES, BuildResult, DatasetStore

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig


def split_key(config: "BuildConfig", split: str) -> DatasetKey:
    return dataset_key(get_family(config.family), config, split)


def config_store(config: "BuildConfig") -> DatasetStore:
    """The store `data.cache_dir` names (default: the user's dataset cache)."""
    return DatasetStore(config.data.cache_dir)


def ensure_split(config: "BuildConfig", split: str, store: DatasetStore, *, shard_examples: int = SHARD_EXAMPLES,
                 progress: Callable[[int, int], None] | None = None, on_wait: Callable[[], None] | None = None) -> BuildResult:
    """Make the cached dataset of `split` ready (built here, or by whoever else is building it)."""
    family = get_family(config.family)
    key = dataset_key(family, config, split)
    return store.build(key, lambda: family.iter_examples(config, split), split_size(config, split),  # type: ignore[arg-type]
                       shard_examples=shard_examples, storage=dict(family.example_storage), progress=progress, on_wait=on_wait)
