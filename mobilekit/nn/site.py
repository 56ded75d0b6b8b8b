"""`OpSite`: what a handler decides on — one occurrence of a TF op, seen from the graph or from a
mobilekit layer about to emit it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True)
class OpSite:
    """One occurrence of a TF op type.

    `attrs` use TF's attribute names (`strides`, `rates`, `padding`, `align_corners`,
    `half_pixel_centers`) plus `size` (resize output (h, w)) when known. `filter` is the Dilation2D
    structuring element *as the TF op receives it* (erosion2d passes the reversed filter of a
    negated input). `input_shape` is the static NHWC input shape when known. `layer` names the
    mobilekit layer that is about to emit the op: only such sites can be decomposed, because the
    layer emits the decomposition instead (see `mobilekit.nn.layers`); graph-level sites
    (`layer is None`) can only take a kernel route (Core ML custom layer, TFLite Select TF op).
    """

    op_type: str
    node: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    input_shape: tuple[int | None, ...] | None = None
    filter: np.ndarray | None = None
    layer: str | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        size = self.attrs.get("size")
        return None if size is None else (int(size[0]), int(size[1]))

    @property
    def spatial(self) -> tuple[int, int] | None:
        """Static (H, W) of the NHWC input, or None."""
        shape = self.input_shape
        if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
            return None
        return int(shape[1]), int(shape[2])

    def flat_filter(self) -> bool:
        return self.filter is not None and not np.any(self.filter)

    def unit_strides(self) -> bool:
        return all(int(s) == 1 for s in self.attrs.get("strides", (1, 1, 1, 1))) and \
            all(int(r) == 1 for r in self.attrs.get("rates", (1, 1, 1, 1)))
