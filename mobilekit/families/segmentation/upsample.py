"""Bring a mask predicted at the model's input size back to a photo's full resolution, following
the photo's edges: the fast guided filter (He, Sun and Tang 2010; He and Sun 2015) with the photo
as colour guide. The filter's linear coefficients are solved at a working resolution (the photo
at most WORK_LONG_SIDE px on its long side) and upsampled bilinearly, so a 12 MP photo costs a
few full-resolution arrays, filled in row bands."""
from __future__ import annotations

import numpy as np

WORK_LONG_SIDE = 1024
EPSILON = 1e-3  # regularization of the colour covariance: larger = smoother, closer to the plain resize
ROW_BAND = 512  # full-resolution rows computed at once


def _resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a float (H, W) or (H, W, C) array."""
    from PIL import Image

    if array.ndim == 2:
        return np.asarray(Image.fromarray(np.ascontiguousarray(array, np.float32)).resize((width, height), Image.BILINEAR), np.float32)
    return np.stack([_resize(array[..., c], width, height) for c in range(array.shape[-1])], axis=-1)


def _box(array: np.ndarray, radius: int) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    size = (2 * radius + 1, 2 * radius + 1) + ((1,) if array.ndim == 3 else ())
    return uniform_filter(array, size=size, mode="reflect")


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Colour guided filter's box-averaged coefficients (A (h, w, 3), b (h, w)): the output is
    A·guide + b. `guide` float RGB in [0, 1], `source` float (h, w)."""
    mean_i = _box(guide, radius)
    mean_p = _box(source, radius)
    cov_ip = _box(guide * source[..., None], radius) - mean_i * mean_p[..., None]
    sigma = np.empty(guide.shape[:2] + (3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            sigma[..., i, j] = sigma[..., j, i] = _box(guide[..., i] * guide[..., j], radius) - mean_i[..., i] * mean_i[..., j]
    sigma += eps * np.eye(3, dtype=np.float32)
    a = np.linalg.solve(sigma, cov_ip[..., None])[..., 0]
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return _box(a, radius), _box(b, radius)


def guided_upsample(prob: np.ndarray, photo: np.ndarray, eps: float = EPSILON) -> np.ndarray:
    """Probability (H, W) at the photo's resolution from `prob` (h, w) at the model's, edge-aware.
    `photo` uint8 RGB (or float RGB in [0, 1]) at full resolution."""
    height, width = photo.shape[:2]
    scale = min(1.0, WORK_LONG_SIDE / max(height, width))
    work_w, work_h = max(1, round(width * scale)), max(1, round(height * scale))
    to_unit = 1.0 / 255.0 if photo.dtype == np.uint8 else 1.0
    from PIL import Image

    if photo.dtype == np.uint8:
        guide = np.asarray(Image.fromarray(photo).resize((work_w, work_h), Image.BILINEAR), np.float32) * to_unit
    else:
        guide = _resize(photo.astype(np.float32), work_w, work_h)
    source = _resize(prob.astype(np.float32), work_w, work_h)
    # the window spans about two model pixels: the band where the low-resolution mask is uncertain
    radius = max(2, round(2 * work_w / prob.shape[1]))
    a, b = guided_coefficients(guide, source, radius, eps)
    a_full, b_full = _resize(a, width, height), _resize(b, width, height)
    out = np.empty((height, width), np.float32)
    for top in range(0, height, ROW_BAND):
        rows = slice(top, top + ROW_BAND)
        out[rows] = np.einsum("hwc,hwc->hw", a_full[rows], photo[rows].astype(np.float32) * to_unit) + b_full[rows]
    return np.clip(out, 0.0, 1.0, out=out)
