"""The segmentation family's config section (`segmentation:` in YAML) and its presets' shape."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from mobilekit.core.config import FamilyOptions, Strict


class ClickSamplingConfig(Strict):
    """Xu et al. 2016 click simulation; pixel values refer to `reference_size` and are scaled."""

    max_positive: Annotated[int, Field(ge=1, le=20)] = 5
    max_negative_band: Annotated[int, Field(ge=0, le=20)] = 3
    max_negative_anywhere: Annotated[int, Field(ge=0, le=20)] = 2
    max_negative_objects: Annotated[int, Field(ge=0, le=20)] = 2
    margin: Annotated[float, Field(ge=0)] = 5.0
    spacing: Annotated[float, Field(ge=0)] = 10.0
    band: Annotated[float, Field(gt=0)] = 40.0
    reference_size: Annotated[int, Field(ge=16)] = 320


class CocoSource(Strict):
    annotations: Path
    images: Path
    categories: list[str] | None = None
    min_area: Annotated[int, Field(ge=0)] = 0


class FolderSource(Strict):
    root: Path


class CompositesSource(Strict):
    """Copy-paste composites (`data.source: composites`). Unset folders use the sample photos that
    installed packages ship: backgrounds are crops of them, objects real-texture cut-outs."""

    objects: Path | None = None  # folder of RGBA PNGs (alpha > 50 % = the object)
    backgrounds: Path | None = None  # folder of photos (.png, .jpg, .jpeg)
    max_objects: Annotated[int, Field(ge=1, le=6)] = 3


class PretrainedBackbone(Strict):
    """Initial weights of a `mobilenet_v2` encoder: Keras' ImageNet weights (downloaded by Keras,
    needs a network) or a local weights file of `keras.applications.MobileNetV2(include_top=False)`
    at the preset's alpha, pinned by its sha256 (which the training cache key follows)."""

    weights: str  # "imagenet" or a path to a .h5 weights file
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


class SegmentationOptions(FamilyOptions):
    clicks: ClickSamplingConfig = ClickSamplingConfig()
    coco: CocoSource | None = None  # settings of `data.source: coco`
    folders: FolderSource | None = None  # settings of `data.source: folders`
    composites: CompositesSource | None = None  # settings of `data.source: composites` (optional)
    pretrained: PretrainedBackbone | None = None  # initial encoder weights (split presets with a mobilenet_v2 backbone)


class SegmentationPreset(Strict):
    """Early fusion (image and click maps enter together). `stages`: (squeeze, expand, fire
    modules) per encoder stage at H/4, H/8, H/16."""

    architecture: Literal["fusion"] = "fusion"
    stem: int
    stages: list[tuple[int, int, int]]
    context: int
    refine: list[int]
    head: int


class SplitPreset(Strict):
    """Image encoder run once per photo + click decoder run per tap. `stages`: (expansion, filters,
    repeats, stride) per inverted-residual stage after the stride-2 stem; the stride-2 stages give
    the features at 1/4, 1/8 and 1/16. `embed`: width of the click-similarity embedding; `decoder`:
    widths at 1/16, 1/8, 1/4 (and 1/2); logits at the finest, upsampled bilinearly."""

    architecture: Literal["split"] = "split"
    backbone: Literal["blocks", "mobilenet_v2"] = "blocks"  # mobilenet_v2: Keras' MobileNetV2 layers (pretrained weights load)
    alpha: Annotated[float, Field(gt=0, le=1.4)] = 1.0  # MobileNetV2 width multiplier (mobilenet_v2 backbone only)
    stem: int = 0  # blocks backbone only
    stages: list[tuple[int, int, int, int]] = []  # blocks backbone only
    embed: int
    decoder: Annotated[list[int], Field(min_length=3, max_length=4)]
