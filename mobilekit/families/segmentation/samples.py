"""The unit of data for interactive segmentation: one image, one object to select, the other objects."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mobilekit.core.errors import InputError


@dataclass
class SegSample:
    """`image`: (H, W, 3) uint8 RGB; `target`: bool (H, W) mask of the object to select;
    `others`: bool (H, W) masks of the other objects of the same image (sources of negative clicks)."""

    image: np.ndarray
    target: np.ndarray
    others: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise InputError(
                f"SegSample.image must be (H, W, 3) uint8 RGB, got {self.image.shape} {self.image.dtype}"
            )
        hw = self.image.shape[:2]
        for name, mask in [("target", self.target)] + [(f"others[{i}]", m) for i, m in enumerate(self.others)]:
            if mask.shape != hw or mask.dtype != np.bool_:
                raise InputError(
                    f"SegSample.{name} must be a bool mask of shape {hw}, got {mask.shape} {mask.dtype}"
                )

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.image.shape[0], self.image.shape[1]
