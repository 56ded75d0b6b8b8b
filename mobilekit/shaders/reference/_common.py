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
