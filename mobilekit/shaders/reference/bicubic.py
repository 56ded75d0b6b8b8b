"""Bicubic resize reference: ``tf.image.resize(method="bicubic", antialias=False)``.

TensorFlow semantics verified against TF 2.19 (``tensorflow/core/kernels/image/*.cc``):
``tf.image.resize(method="bicubic", antialias=False)`` is ``ResizeBicubic(half_pixel_centers=True)``:
Keys cubic with ``a = -0.5``; source coordinate ``(o + 0.5) * (in / out) - 0.5`` in float32; the
fractional part is *quantised to 1/1024* (``lrintf(delta * 1024)``, a 1025-entry coefficient table);
taps outside the image get weight 0 and the remaining weights are renormalised to sum to 1 (not
edge replication); rows (y) are interpolated first for each of the 4 x taps, then x.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mobilekit.shaders.reference._common import F32, FLT_MIN, _back, resize_setup

BICUBIC_A = -0.5
BICUBIC_TABLE_SIZE = 1024


def bicubic_table_entry(i: int) -> tuple[np.float32, np.float32]:
    """TF's coefficient table entry ``i`` in [0, 1024]: (K(x), K(x + 1)) for x = i / 1024, computed in
    double and rounded to float32 (Keys, a = -0.5)."""
    a = BICUBIC_A
    x = i / BICUBIC_TABLE_SIZE
    k0 = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = x + 1.0
    k1 = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return F32(k0), F32(k1)


def bicubic_coeffs(out_loc: int, scale: np.float32, limit: int) -> tuple[list[int], list[np.float32]]:
    """Indices and weights of the 4 taps for output index ``out_loc`` (TF ``GetWeightsAndIndices``
    with ``HalfPixelScaler`` and Keys cubic)."""
    in_f = (F32(out_loc) + F32(0.5)) * F32(scale) - F32(0.5)
    in_loc = int(np.floor(in_f))
    delta = F32(in_f - F32(in_loc))
    off = int(np.rint(F32(delta * F32(BICUBIC_TABLE_SIZE))))  # lrintf: round half to even
    t0, t1 = bicubic_table_entry(off)
    u0, u1 = bicubic_table_entry(BICUBIC_TABLE_SIZE - off)
    raw = [t1, t0, u0, u1]
    idx, wts = [], []
    for k in range(4):
        want = in_loc - 1 + k
        b = min(limit - 1, max(0, want))
        idx.append(b)
        wts.append(raw[k] if b == want else F32(0.0))
    s = F32(F32(F32(wts[0] + wts[1]) + wts[2]) + wts[3])
    if abs(float(s)) >= 1000.0 * FLT_MIN:
        inv = F32(F32(1.0) / s)
        wts = [F32(v * inv) for v in wts]
    return idx, wts


def resize_bicubic(x: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``tf.image.resize(x, size, method="bicubic", antialias=False)`` (see module docstring)."""
    a, squeeze, (n, h, w, c), oh, ow, sh, sw = resize_setup(x, size)
    ycf = [bicubic_coeffs(o, sh, h) for o in range(oh)]
    xcf = [bicubic_coeffs(o, sw, w) for o in range(ow)]
    yi = np.array([i for i, _ in ycf])  # (oh, 4)
    yw = np.array([wt for _, wt in ycf], np.float32)
    xi = np.array([i for i, _ in xcf])  # (ow, 4)
    xw = np.array([wt for _, wt in xcf], np.float32)
    out = np.zeros((n, oh, ow, c), np.float32)
    for oy in range(oh):
        rows = a[:, yi[oy]]  # (n, 4, w, c)
        cols = []
        for j in range(4):  # value of column tap j, interpolated along y first
            v = rows[:, :, xi[:, j], :]  # (n, 4, ow, c)
            col = v[:, 0] * yw[oy, 0]
            for k in range(1, 4):
                col = col + v[:, k] * yw[oy, k]
            cols.append(col)
        r = cols[0] * xw[:, 0][None, :, None]
        for j in range(1, 4):
            r = r + cols[j] * xw[:, j][None, :, None]
        out[:, oy] = r
    return _back(out, squeeze)
