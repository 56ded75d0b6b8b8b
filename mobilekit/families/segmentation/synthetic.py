"""Synthetic scenes made on the fly: textured objects of varied shapes on textured backgrounds,
with the visible mask of every object (later objects occlude earlier ones). No download."""
from __future__ import annotations

import numpy as np

from mobilekit.data.shapes import SHAPES, shape_mask, texture
from mobilekit.families.segmentation.samples import SegSample


def synthetic_scene(rng: np.random.Generator, height: int, width: int, max_objects: int = 3) -> SegSample:
    """One scene; the target is a random object whose visible area is at least 2 % of the image."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = rng.uniform(30, 225, size=3)
    image = texture(rng, yy, xx, background)
    size = min(height, width)
    masks: list[np.ndarray] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        radius = rng.uniform(0.14, 0.32) * size
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        mask = shape_mask(rng, SHAPES[int(rng.integers(len(SHAPES)))], yy, xx, cy, cx, radius)
        if mask.sum() < 16:
            continue
        color = rng.uniform(0, 255, size=3)
        while np.abs(color - background).sum() < 120:  # keep objects distinguishable from the background
            color = rng.uniform(0, 255, size=3)
        image = np.where(mask[..., None], texture(rng, yy, xx, color), image)
        masks = [m & ~mask for m in masks] + [mask]
    visible = [m for m in masks if m.sum() >= 0.02 * height * width]
    if not visible:
        return synthetic_scene(rng, height, width, max_objects)
    index = int(rng.integers(len(visible)))
    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return SegSample(image=pixels, target=visible[index], others=[m for i, m in enumerate(visible) if i != index])
