"""Where samples come from: a registry of sources (synthetic, COCO, folders), split deterministically."""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.core.registry import Registry
from mobilekit.data.samples import SegSample

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig

SampleSource = Callable[["BuildConfig", str, np.random.Generator], Iterator[SegSample]]
SOURCES: Registry[SampleSource] = Registry("data source")
SPLITS = ("train", "val", "parity")


def split_rng(seed: int, split: str) -> np.random.Generator:
    """An independent, reproducible stream per (seed, split)."""
    return np.random.default_rng([seed, zlib.crc32(split.encode())])


@SOURCES.register("synthetic")
def _synthetic(config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[SegSample]:
    from mobilekit.data.synthetic import synthetic_scene

    height, width = config.data.image_size
    while True:
        yield synthetic_scene(rng, height, width)


def _held_out(samples: list[SegSample], split: str, rng: np.random.Generator) -> Iterator[SegSample]:
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


@SOURCES.register("coco")
def _coco(config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[SegSample]:
    from mobilekit.data.coco import load_coco_samples

    src = config.data.coco
    samples = list(load_coco_samples(src.annotations, src.images, src.categories, src.min_area))
    return _held_out(samples, split, rng)


@SOURCES.register("folders")
def _folders(config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[SegSample]:
    from mobilekit.data.folders import load_folder_samples

    return _held_out(list(load_folder_samples(config.data.folders.root)), split, rng)


def iter_samples(config: "BuildConfig", split: str) -> Iterator[SegSample]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rng = split_rng(config.seed, split)
    return iter(SOURCES.get(config.data.source)(config, split, rng))
