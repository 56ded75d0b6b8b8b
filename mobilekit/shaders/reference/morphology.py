"""Erosion / dilation references: ``tf.nn.erosion2d`` / ``tf.nn.dilation2d`` (strides 1, dilations 1, SAME).

TensorFlow semantics verified against TF 2.19 (``tensorflow/core/kernels/dilation_ops.cc``):

* ``tf.nn.dilation2d(x, f, strides=1, padding="SAME", dilations=1)``:
  ``out[y, x, c] = max_{dy, dx} in[y + dy - ph, x + dx - pw, c] + f[dy, dx, c]`` over in-image taps only,
  ``ph = (kh - 1) // 2``, start value ``-FLT_MAX`` (``lowest()``), strict ``>`` comparisons.
* ``tf.nn.erosion2d`` is computed by TF as ``-dilation2d(-x, reverse(f, [0, 1]))``; with a flat (zero)
  filter this is the minimum over the window (out-of-image taps ignored, i.e. +inf).
"""
from __future__ import annotations

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.shaders.reference._common import FLT_MAX, _as_nhwc, _back


def _check_kernel(kh: int, kw: int) -> None:
    for k in (kh, kw):
        if int(k) != k or k < 1 or k % 2 == 0:
            raise InputError(f"structuring element sizes must be odd positive ints, got {kh}x{kw}")


def _morph(x: np.ndarray, kh: int, kw: int | None, filters: np.ndarray | None, dilate: bool) -> np.ndarray:
    kw = kh if kw is None else kw
    a, squeeze = _as_nhwc(x)
    n, h, w, c = a.shape
    if filters is None:
        _check_kernel(kh, kw)
        f = np.zeros((kh, kw, c), np.float32)
    else:
        f = np.asarray(filters, np.float32)
        if f.ndim != 3 or f.shape[2] != c:
            raise InputError(f"filters must be (kh, kw, C={c}), got {f.shape}")
        kh, kw = f.shape[:2]
        _check_kernel(kh, kw)
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    src = a if dilate else -a
    taps = f if dilate else f[::-1, ::-1]  # erosion2d = -dilation2d(-x, reverse(f))
    acc = np.full(a.shape, -FLT_MAX, np.float32)
    for dy in range(kh):
        oy0, oy1 = max(0, ph - dy), min(h, h + ph - dy)  # output rows whose tap row is inside
        if oy0 >= oy1:
            continue
        for dx in range(kw):
            ox0, ox1 = max(0, pw - dx), min(w, w + pw - dx)
            if ox0 >= ox1:
                continue
            v = src[:, oy0 + dy - ph : oy1 + dy - ph, ox0 + dx - pw : ox1 + dx - pw, :] + taps[dy, dx]
            cur = acc[:, oy0:oy1, ox0:ox1, :]
            np.copyto(cur, v, where=v > cur)  # strict '>' exactly as TF: NaN never wins
    return _back(acc if dilate else -acc, squeeze)


def dilation2d(x: np.ndarray, kh: int = 3, kw: int | None = None, filters: np.ndarray | None = None) -> np.ndarray:
    """``tf.nn.dilation2d`` with strides 1, dilations 1, padding SAME.

    Flat ``kh x kw`` structuring element (odd sizes) unless ``filters`` ``(kh, kw, C)`` is given:
    ``out = max over in-image taps of in[y+dy-ph, x+dx-pw] + f[dy, dx]``.
    """
    return _morph(x, kh, kw, filters, dilate=True)


def erosion2d(x: np.ndarray, kh: int = 3, kw: int | None = None, filters: np.ndarray | None = None) -> np.ndarray:
    """``tf.nn.erosion2d`` with strides 1, dilations 1, padding SAME.

    TF computes ``-dilation2d(-x, reverse(f, [0, 1]))``, i.e.
    ``out = min over in-image taps of in[y+dy-ph, x+dx-pw] - f[kh-1-dy, kw-1-dx]``; flat element:
    the window minimum.
    """
    return _morph(x, kh, kw, filters, dilate=False)
