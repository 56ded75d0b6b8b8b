"""The segmentation family's data sources: synthetic scenes, COCO instances, image/mask folders."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from mobilekit.core.registry import Registry
from mobilekit.data.sources import folder_fingerprint, held_out, source_handler
from mobilekit.families.segmentation.samples import SegSample

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig

SegSource = Callable[["BuildConfig", str, np.random.Generator], Iterator[SegSample]]
SOURCES: Registry[SegSource] = Registry("segmentation data source")


@SOURCES.register("synthetic")
@source_handler(version=1)
def _synthetic(config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[SegSample]:
    from mobilekit.families.segmentation.synthetic import synthetic_scene

    height, width = config.data.image_size
    while True:
        yield synthetic_scene(rng, height, width)


@SOURCES.register("coco")
@source_handler(version=1, options=("segmentation.coco",),
                fingerprint=lambda c: folder_fingerprint(c.options.coco.annotations, c.options.coco.images))
def _coco(config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[SegSample]:
    from mobilekit.families.segmentation.coco import load_coco_samples

    src = config.options.coco
    return held_out(list(load_coco_samples(src.annotations, src.images, src.categories, src.min_area)), split, rng)


@SOURCES.register("folders")
@source_handler(version=1, options=("segmentation.folders",), fingerprint=lambda c: folder_fingerprint(c.options.folders.root))
def _folders(config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[SegSample]:
    from mobilekit.families.segmentation.folders import load_folder_samples

    return held_out(list(load_folder_samples(config.options.folders.root)), split, rng)
