"""The depth family's config section (`depth:` in YAML) and its presets' shape."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from mobilekit.core.config import FamilyOptions, Strict


class DepthFolderSource(Strict):
    """`images/` + `depth/` (16-bit PNG in mm, or .npy metres) + optional `valid/` and `portrait/`."""

    root: Path


class DepthOptions(FamilyOptions):
    loss: Literal["silog", "ssi"] = "silog"  # scale-invariant log (Eigen 2014) or scale-and-shift-invariant (MiDaS)
    gradient_weight: Annotated[float, Field(ge=0, le=10)] = 0.5  # multi-scale gradient matching on the aligned residual
    portrait_weight: Annotated[float, Field(ge=0, le=10)] = 1.0  # the portrait head's mask loss
    folders: DepthFolderSource | None = None  # settings of `data.source: folders`


class DepthPreset(Strict):
    """Widths. `stages`: (expansion, filters, repeats, stride) per inverted-residual stage; four
    stages of stride 2 after the stem give the features at 1/4, 1/8, 1/16 and 1/32."""

    stem: int
    stages: list[tuple[int, int, int, int]]
    # NNConv5 widths at 1/16, 1/8, 1/4[, 1/2]: four stages end at 1/2 (×2 nearest to full resolution, as
    # FastDepth), three at 1/4 (×4 bilinear; the head then does no work above 1/4 resolution)
    depth_decoder: Annotated[list[int], Field(min_length=3, max_length=4)]
    portrait_decoder: list[int]  # widths at 1/8, 1/4 (logits at 1/4, upsampled bilinearly)
