"""The segmentation family's data sources: synthetic scenes, COCO instances, image/mask folders,
copy-paste composites on real photos."""
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


def _composites_options(config: "BuildConfig"):
    from mobilekit.families.segmentation.config import CompositesSource

    return config.options.composites or CompositesSource()


def _composites_fingerprint(config: "BuildConfig") -> str:
    from mobilekit.data.sample_photos import PHOTOS, sample_photo_path

    options = _composites_options(config)
    return folder_fingerprint(options.objects, options.backgrounds, *(sample_photo_path(name) for name in PHOTOS))


@SOURCES.register("composites")
@source_handler(version=1, options=("segmentation.composites",), fingerprint=_composites_fingerprint)
def _composites(config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[SegSample]:
    from mobilekit.families.segmentation.composites import composite_samples

    options = _composites_options(config)
    return composite_samples(options.objects, options.backgrounds, split, rng, tuple(config.data.image_size), options.max_objects)
