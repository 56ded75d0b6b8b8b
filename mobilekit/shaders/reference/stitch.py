"""Masked stitch reference: blend an inpainted image into the original where a mask is set."""
from __future__ import annotations

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.shaders.reference._common import F32, _as_nhwc, _back


def stitch(original: np.ndarray, inpainted: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend the inpainted image into the original where the mask is set.

    ``m = 0 if not mask > 0 else min(mask, 1)`` (NaN and negatives count as 0), then
    ``out = (1 - m) * original + m * inpainted`` in float32. For a binary mask this is an exact
    select (m = 1 returns the inpainted value bit for bit, m = 0 the original); fractional masks
    feather the seam. ``mask`` has 1 channel (broadcast) or as many as the images: (N, H, W, 1|C),
    (H, W, 1|C) or (H, W).
    """
    o, squeeze = _as_nhwc(original, "original")
    p, _ = _as_nhwc(inpainted, "inpainted")
    m = np.asarray(mask, np.float32)
    if m.ndim == 2:
        m = m[:, :, None]
    if m.ndim == 3:
        m = m[None]
    if o.shape != p.shape:
        raise InputError(f"original {o.shape} and inpainted {p.shape} differ")
    if m.shape[:3] != o.shape[:3] or m.shape[3] not in (1, o.shape[3]):
        raise InputError(f"mask {m.shape} does not match images {o.shape}")
    with np.errstate(invalid="ignore"):
        mm = np.where(m > 0, np.minimum(m, F32(1.0)), F32(0.0)).astype(np.float32)
    mm = np.where(np.isnan(m), F32(0.0), mm).astype(np.float32)
    out = (F32(1.0) - mm) * o + mm * p
    return _back(out.astype(np.float32), squeeze)
