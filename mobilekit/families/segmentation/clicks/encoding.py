"""Click encoding (Xu et al. 2016 §3.1): per polarity, the Euclidean distance map to the nearest
click, truncated at 255 (255 everywhere without a click), then scaled to [0, 1] for the model.

The arithmetic is the click-map kernel's NumPy reference (`mobilekit.shaders.reference`), which the
Swift/Metal kernel is tested against, so training data, predict and the device encode identically."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.shaders.reference import click_maps

CLICK_TRUNCATE = 255.0


@dataclass(frozen=True)
class Click:
    y: int
    x: int
    positive: bool



def encode_click_maps(clicks: Sequence[Click], height: int, width: int, truncate: float = CLICK_TRUNCATE) -> np.ndarray:
    """float32 (H, W, 2): per pixel the Euclidean distance (pixel units, between integer pixel
    coordinates) to the nearest positive (channel 0) / negative (channel 1) click, truncated at
    `truncate`; `truncate` everywhere when there is no click of that polarity."""
    return click_maps(clicks, height, width, truncate)


def normalize_click_maps(maps: np.ndarray, truncate: float = CLICK_TRUNCATE) -> np.ndarray:
    """Model input: `maps / truncate`, in [0, 1], float32."""
    if not truncate > 0:
        raise InputError(f"truncate must be > 0, got {truncate}")
    return np.clip(np.asarray(maps, dtype=np.float32) / np.float32(truncate), 0.0, 1.0)


def encoded_clicks(clicks: Sequence[Click], height: int, width: int) -> np.ndarray:
    """The model's `clicks` input for one image: normalized maps, float32 (H, W, 2)."""
    return normalize_click_maps(encode_click_maps(clicks, height, width, CLICK_TRUNCATE), CLICK_TRUNCATE)
