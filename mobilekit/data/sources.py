"""Shared data plumbing for every family's sources: reproducible per-split streams and a
deterministic held-out split of finite sample lists."""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Iterator, Sequence, TypeVar

import numpy as np

from mobilekit.core.errors import InputError

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig
    from mobilekit.core.family import ModelFamily

SPLITS = ("train", "val", "parity")
T = TypeVar("T")


def split_rng(seed: int, split: str) -> np.random.Generator:
    """An independent, reproducible stream per (seed, split)."""
    return np.random.default_rng([seed, zlib.crc32(split.encode())])


def held_out(samples: Sequence[T], split: str, rng: np.random.Generator) -> Iterator[T]:
    """Deterministic 80/10/10 split of a finite sample list by position, shuffled per split."""
    if not samples:
        raise InputError("the data source yielded no samples")
    bucket = {"train": (0.0, 0.8), "val": (0.8, 0.9), "parity": (0.9, 1.0)}[split]
    order = np.random.default_rng(0).permutation(len(samples))
    lo, hi = (int(b * len(samples)) for b in bucket)
    chosen = [samples[i] for i in order[lo:max(hi, lo + 1)]]
    while True:
        for i in rng.permutation(len(chosen)):
            yield chosen[i]


def iter_samples(family: "ModelFamily", config: "BuildConfig", split: str) -> Iterator:
    """The samples of `split` from the config's source (one of `family.sources`)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    return iter(family.sources.get(config.data.source)(config, split, split_rng(config.seed, split)))
