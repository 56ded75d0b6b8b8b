"""Depth-of-field blur reference: per-pixel box blur whose radius follows the depth difference to a focal depth."""
from __future__ import annotations

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.shaders.reference._common import F32, _as_nhwc, _back


def dof_radius(depth: np.ndarray, focal_depth: float, strength: float, max_radius: int) -> np.ndarray:
    """Per-pixel blur radius (int32).

    ``t = strength * |depth - focal_depth|`` in float32; ``r = 0`` if not ``t > 0`` (also NaN),
    ``max_radius`` if ``t >= max_radius``, else ``floor(t + 0.5)`` (round half up), finally
    ``min(r, max_radius)``.
    """
    d = np.asarray(depth, np.float32)
    with np.errstate(invalid="ignore"):
        t = F32(strength) * np.abs(d - F32(focal_depth))
        t = t.astype(np.float32)
        mr = int(max_radius)
        pos = t > 0
        big = t >= F32(mr)
        safe = np.where(pos & ~big, t, F32(0.0)).astype(np.float32)
        r = np.floor((safe + F32(0.5)).astype(np.float32)).astype(np.int64)
    r = np.where(big, mr, np.where(pos, r, 0))
    return np.minimum(r, mr).astype(np.int32)


def depth_of_field(
    image: np.ndarray, depth: np.ndarray, focal_depth: float, strength: float, max_radius: int
) -> np.ndarray:
    """Depth-of-field blur: each output pixel is the mean of the input over the square window
    ``[y - r, y + r] x [x - r, x + r]`` *intersected with the image* (out-of-image pixels are not
    counted: the divisor is the number of in-image pixels), with ``r = dof_radius(depth[y, x], ...)``.

    ``image`` (N, H, W, C) or (H, W, C); ``depth`` (N, H, W[, 1]) or (H, W[, 1]) in any unit
    (strength converts depth difference to pixels). ``max_radius`` >= 0 bounds the work per pixel.
    Reference arithmetic uses a float64 summed-area table; the C kernel sums in float32 row by row
    (agreement well within 1e-5 for values in [0, 1] and radii up to ~32).
    """
    a, squeeze = _as_nhwc(image, "image")
    n, h, w, c = a.shape
    d = np.asarray(depth, np.float32)
    if d.ndim == a.ndim and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim == 2:
        d = d[None]
    if d.shape != (n, h, w):
        raise InputError(f"depth {np.shape(depth)} does not match image {a.shape}")
    if int(max_radius) < 0:
        raise InputError(f"max_radius must be >= 0, got {max_radius}")
    r = dof_radius(d, focal_depth, strength, max_radius)
    sat = np.zeros((n, h + 1, w + 1, c), np.float64)
    sat[:, 1:, 1:] = np.cumsum(np.cumsum(a.astype(np.float64), axis=1), axis=2)
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    out = np.empty_like(a)
    for b in range(n):
        rb = r[b]
        y0, y1 = np.maximum(yy - rb, 0), np.minimum(yy + rb, h - 1) + 1
        x0, x1 = np.maximum(xx - rb, 0), np.minimum(xx + rb, w - 1) + 1
        s = sat[b, y1, x1] - sat[b, y0, x1] - sat[b, y1, x0] + sat[b, y0, x0]
        cnt = ((y1 - y0) * (x1 - x0)).astype(np.float64)[..., None]
        out[b] = (s / cnt).astype(np.float32)
    return _back(out, squeeze)
