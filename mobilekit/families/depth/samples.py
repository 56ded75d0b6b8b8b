"""The unit of data for metric depth estimation: one image, its depth in metres, where that depth is
valid, and (when known) the mask of the foreground person."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mobilekit.core.errors import InputError


@dataclass
class DepthSample:
    """`image`: (H, W, 3) uint8 RGB; `depth`: (H, W) float32 metres, finite everywhere and > 0 where
    `valid` (invalid pixels conventionally hold 0); `valid`: (H, W) bool, the pixels whose depth
    counts; `portrait`: (H, W) bool mask of the foreground person; `has_portrait`: False when the
    pair comes without a person mask (then `portrait` is all False and the portrait loss must ignore
    the sample)."""

    image: np.ndarray
    depth: np.ndarray
    valid: np.ndarray
    portrait: np.ndarray
    has_portrait: bool = True

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(
                f"DepthSample.image must be (H, W, 3) uint8 RGB, got {getattr(image, 'shape', type(image))} "
                f"{getattr(image, 'dtype', '')}"
            )
        hw = image.shape[:2]
        for name, dtype in (("depth", np.float32), ("valid", np.bool_), ("portrait", np.bool_)):
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.shape != hw or arr.dtype != dtype:
                raise InputError(
                    f"DepthSample.{name} must be {np.dtype(dtype).name} of shape {hw} (the image's), got "
                    f"{getattr(arr, 'shape', type(arr))} {getattr(arr, 'dtype', '')}"
                )
        if not np.isfinite(self.depth).all():
            raise InputError("DepthSample.depth must be finite everywhere (put 0 at invalid pixels, valid=False)")
        bad = self.valid & ~(self.depth > 0)
        if bad.any():
            raise InputError(
                f"DepthSample.depth must be > 0 wherever valid is True: {int(bad.sum())} valid pixel(s) "
                f"have depth <= 0 (min {float(self.depth[bad].min()):g})"
            )
        if not isinstance(self.has_portrait, (bool, np.bool_)):
            raise InputError(f"DepthSample.has_portrait must be a bool, got {type(self.has_portrait).__name__}")
        if not self.has_portrait and self.portrait.any():
            raise InputError("DepthSample.portrait must be all False when has_portrait is False")

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.image.shape[0], self.image.shape[1]
