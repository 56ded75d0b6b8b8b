"""The segmentation family's config section (`segmentation:` in YAML) and its presets' shape."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


class SegmentationOptions(FamilyOptions):
    clicks: ClickSamplingConfig = ClickSamplingConfig()
    coco: CocoSource | None = None  # settings of `data.source: coco`
    folders: FolderSource | None = None  # settings of `data.source: folders`


class SegmentationPreset(Strict):
    """Network widths. `stages`: (squeeze, expand, fire modules) per encoder stage at H/4, H/8, H/16."""

    stem: int
    stages: list[tuple[int, int, int]]
    context: int
    refine: list[int]
    head: int
