"""Helpers and float32 constants shared by the kernel references (NHWC handling, float32 limits)."""
from __future__ import annotations

import numpy as np

from mobilekit.core.errors import InputError

F32 = np.float32
FLT_MAX = float(np.finfo(np.float32).max)
FLT_MIN = float(np.finfo(np.float32).tiny)


def _as_nhwc(x: np.ndarray, name: str = "x") -> tuple[np.ndarray, bool]:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 3:
        return a[None], True
    if a.ndim == 4:
        return a, False
    raise InputError(f"{name} must be (N, H, W, C) or (H, W, C), got shape {a.shape}")


def _back(a: np.ndarray, squeeze: bool) -> np.ndarray:
    return a[0] if squeeze else a


def resize_setup(x: np.ndarray, size) -> tuple[np.ndarray, bool, tuple[int, int, int, int], int, int, np.float32, np.float32]:
    """Shared start of the resize kernels: NHWC input, output size, float32 scales in / out.
    -> (array, squeezed, (n, h, w, c), out height, out width, scale y, scale x)."""
    a, squeeze = _as_nhwc(x)
    oh, ow = int(size[0]), int(size[1])
    n, h, w, c = a.shape
    if oh <= 0 or ow <= 0 or h <= 0 or w <= 0:
        raise InputError(f"resize sizes must be positive, got {h}x{w} -> {oh}x{ow}")
    return a, squeeze, (n, h, w, c), oh, ow, F32(F32(h) / F32(oh)), F32(F32(w) / F32(ow))
