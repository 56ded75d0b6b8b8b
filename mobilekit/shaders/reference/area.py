"""Area resize reference: ``tf.image.resize(method="area")``.

TensorFlow semantics verified against TF 2.19 (``tensorflow/core/kernels/image/*.cc``):
``tf.image.resize(method="area")`` is ``ResizeArea(align_corners=False)``: exact box integration of the
source pixel grid over ``[o * s, (o + 1) * s)`` with ``s = in / out`` (float32), fractional coverage
at both ends, for any (also non-integer, also upscaling) factor; indices past the border (float
rounding of ``out * s``) are clamped; the sum is multiplied by ``1 / (sh * sw)``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mobilekit.shaders.reference._common import F32, _back, resize_setup


def area_coverage(i: int, lo: np.float32, hi: np.float32, scale: np.float32) -> np.float32:
    """Length of source cell ``[i, i + 1)`` inside ``[lo, hi)``, as TF computes it in float32."""
    if F32(i) < lo:
        return F32(scale) if F32(i + 1) > hi else F32(F32(i + 1) - lo)
    return F32(hi - F32(i)) if F32(i + 1) > hi else F32(1.0)


def area_span(o: int, scale: np.float32) -> tuple[int, int, np.float32, np.float32]:
    """(start, end, start_scale, end_minus_one_scale) of output index ``o`` (end exclusive, unclamped)."""
    lo, hi = F32(F32(o) * scale), F32(F32(o + 1) * scale)
    start = int(np.floor(lo))
    end = int(np.ceil(hi))
    return start, end, area_coverage(start, lo, hi, scale), area_coverage(end - 1, lo, hi, scale)


def resize_area(x: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``tf.image.resize(x, size, method="area")`` (= ``ResizeArea``, align_corners False).

    ``out[o] = (sum_i coverage_y(i) * sum_j coverage_x(j) * in[i, j]) * (1 / (sh * sw))`` with
    ``s = in / out``; per source row: first tap * its coverage, full middle taps, last tap * its
    coverage; indices clamped to the image.
    """
    a, squeeze, (n, h, w, c), oh, ow, sh, sw = resize_setup(x, size)
    inv = F32(1.0 / float(F32(sh * sw)))  # TF: float scale = 1.0 / (hs * ws)  (double division)
    out = np.zeros((n, oh, ow, c), np.float32)

    def bound(v: int, lim: int) -> int:
        return min(lim - 1, max(0, v))

    xspans = [area_span(o, sw) for o in range(ow)]
    for oy in range(oh):
        lo, hi = F32(F32(oy) * sh), F32(F32(oy + 1) * sh)
        y0, y1 = int(np.floor(lo)), int(np.ceil(hi))
        for ox, (xs, xe, s0, s1) in enumerate(xspans):
            total = np.zeros((n, c), np.float32)
            for i in range(y0, y1):
                row = a[:, bound(i, h)]  # (n, w, c)
                sy = area_coverage(i, lo, hi, sh)
                sum_y = row[:, bound(xs, w)] * s0
                if xs + 1 != xe:
                    for j in range(xs + 1, xe - 1):
                        sum_y = sum_y + row[:, bound(j, w)]
                    sum_y = sum_y + row[:, bound(xe - 1, w)] * s1
                total = total + sum_y * sy
            out[:, oy, ox] = total * inv
    return _back(out, squeeze)
