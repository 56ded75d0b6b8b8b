"""Click distance map reference: the segmentation model's click input encoding."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.shaders.reference._common import F32

CLICK_TRUNCATE = 255.0


@dataclass(frozen=True)
class RefClick:
    """A click at integer pixel (row ``y``, column ``x``); ``positive`` selects channel 0 (else 1).
    Field names match :class:`mobilekit.families.segmentation.clicks.Click`."""

    y: int
    x: int
    positive: bool


def click_maps(clicks: Iterable, height: int, width: int, truncate: float = CLICK_TRUNCATE) -> np.ndarray:
    """Raw click distance maps, float32 ``(H, W, 2)``.

    Channel 0: Euclidean distance from pixel (y, x) to the nearest positive click, channel 1: to the
    nearest negative click, both ``min(sqrt(d2), truncate)`` with ``d2 = (y - cy)^2 + (x - cx)^2``
    in float32 (exact for images under 4096 px); ``truncate`` everywhere when there is no click of
    that polarity. Clicks must lie inside the image. Same values as
    ``mobilekit.families.segmentation.clicks.encode_click_maps``.
    """
    if height <= 0 or width <= 0:
        raise InputError(f"click map size must be positive, got {height}x{width}")
    t = F32(truncate)
    if not t > 0:
        raise InputError(f"truncate must be > 0, got {truncate}")
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    best = [None, None]
    for c in clicks:
        cy, cx, pos = int(c.y), int(c.x), bool(c.positive)
        if not (0 <= cy < height and 0 <= cx < width):
            raise InputError(f"click (y={cy}, x={cx}) lies outside the {height}x{width} image")
        d2 = (ys - F32(cy)) ** 2 + (xs - F32(cx)) ** 2
        ch = 0 if pos else 1
        best[ch] = d2 if best[ch] is None else np.minimum(best[ch], d2)
    out = np.full((height, width, 2), t, np.float32)
    for ch in (0, 1):
        if best[ch] is not None:
            out[..., ch] = np.minimum(np.sqrt(best[ch]), t)
    return out


def click_maps_normalized(clicks: Iterable, height: int, width: int, truncate: float = CLICK_TRUNCATE) -> np.ndarray:
    """Model input encoding: ``clip(click_maps(...) / truncate, 0, 1)`` in float32."""
    t = F32(truncate)
    return np.clip(click_maps(clicks, height, width, truncate) / t, F32(0.0), F32(1.0)).astype(np.float32)
