"""Synthetic photos for the embedded default (no download): a horizon between two textured regions,
textured objects in front, occasional straight edges and gradients, so holes cross structure."""
from __future__ import annotations

import numpy as np

from mobilekit.data.shapes import SHAPES, shape_mask, texture


def synthetic_photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """uint8 (height, width, 3)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    horizon = rng.uniform(0.25, 0.75) * height + rng.uniform(-0.2, 0.2) * (xx - width / 2)
    upper = texture(rng, yy, xx, rng.uniform(40, 230, size=3))
    lower = texture(rng, yy, xx, rng.uniform(20, 200, size=3))
    image = np.where((yy < horizon)[..., None], upper, lower)
    shade = rng.uniform(-40, 40) * (yy / height - 0.5)  # a soft vertical gradient, like light falloff
    image += shade[..., None]
    size = min(height, width)
    for _ in range(int(rng.integers(1, 5))):
        radius = rng.uniform(0.08, 0.3) * size
        cy, cx = rng.uniform(0.1, 0.9) * height, rng.uniform(0.1, 0.9) * width
        mask = shape_mask(rng, SHAPES[int(rng.integers(len(SHAPES)))], yy, xx, cy, cx, radius)
        image = np.where(mask[..., None], texture(rng, yy, xx, rng.uniform(0, 255, size=3)), image)
    for _ in range(int(rng.integers(0, 3))):  # poles, wires, window frames: thin straight edges
        angle, offset = rng.uniform(0, np.pi), rng.uniform(-0.5, 0.5) * size
        distance = np.cos(angle) * (xx - width / 2) + np.sin(angle) * (yy - height / 2) - offset
        image = np.where((np.abs(distance) < rng.uniform(1.0, 0.03 * size + 1.5))[..., None], rng.uniform(0, 255, size=3), image)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
