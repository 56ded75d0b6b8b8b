"""The inpainting family's config section (`inpainting:` in YAML) and its presets' shape."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from mobilekit.core.config import FamilyOptions, Strict

MASK_KINDS = ("strokes", "blobs", "objects")


class ImageFolderSource(Strict):
    """Any folder of photos (PNG / JPEG, searched recursively): inpainting is self-supervised."""

    root: Path


class MaskOptions(Strict):
    """The free-form hole generator: which kinds, and the hole-ratio buckets samples cycle through."""

    kinds: list[Literal["strokes", "blobs", "objects"]] = list(MASK_KINDS)
    buckets: list[tuple[float, float]] = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5)]


class InpaintingOptions(FamilyOptions):
    hole_weight: Annotated[float, Field(ge=0, le=100)] = 6.0  # L1 inside the hole
    valid_weight: Annotated[float, Field(ge=0, le=100)] = 1.0  # L1 outside it (the raw prediction, before compositing)
    tv_weight: Annotated[float, Field(ge=0, le=10)] = 0.05  # total variation of the completed image
    adversarial_weight: Annotated[float, Field(ge=0, le=10)] = 0.002  # GAN, global + local discriminators
    feature_matching_weight: Annotated[float, Field(ge=0, le=100)] = 0.05  # L1 between discriminator features of real and completed
    discriminator_learning_rate: Annotated[float, Field(gt=0, le=1)] = 4e-4
    masks: MaskOptions = MaskOptions()
    folders: ImageFolderSource | None = None  # settings of `data.source: folders`


class InpaintingPreset(Strict):
    """`multicolumn`: three encoder-decoder branches (7×7, 5×5, 3×3 kernels; `widths` at full, 1/2 and
    1/4 resolution; `dilations` at 1/4). `pconv`: a partial-convolution U-Net, `widths` per level."""

    generator: Literal["multicolumn", "pconv"]
    widths: list[int]
    dilations: list[int] = []
    discriminator: list[int] = [16, 32, 64]  # global and local discriminators (training only)
    fill_relax: Annotated[int, Field(ge=0, le=200)] = 40  # Jacobi sweeps after the pull-push starting fill
