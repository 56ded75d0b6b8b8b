"""Synthetic scenes made on the fly: textured objects of varied shapes on textured backgrounds,
with the visible mask of every object (later objects occlude earlier ones). No download."""
from __future__ import annotations

import numpy as np

from mobilekit.families.segmentation.samples import SegSample

SHAPES = ("ellipse", "rectangle", "triangle", "star", "blob")


def _texture(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, base: np.ndarray) -> np.ndarray:
    """A colour `base` modulated by two random gratings and fine noise: (H, W, 3) float."""
    out = np.broadcast_to(base, yy.shape + (3,)).astype(np.float32).copy()
    for _ in range(2):
        angle, freq = rng.uniform(0, np.pi), rng.uniform(0.02, 0.25)
        phase, amp = rng.uniform(0, 2 * np.pi), rng.uniform(5, 30)
        wave = np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
        out += (amp * wave)[..., None] * rng.uniform(0.5, 1.0, size=3)
    out += rng.normal(0, rng.uniform(2, 10), size=out.shape)
    return out


def _shape_mask(rng: np.random.Generator, kind: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, radius: float) -> np.ndarray:
    theta = rng.uniform(0, np.pi)
    dy, dx = yy - cy, xx - cx
    u = np.cos(theta) * dx + np.sin(theta) * dy
    v = -np.sin(theta) * dx + np.cos(theta) * dy
    aspect = rng.uniform(0.55, 1.0)
    if kind == "ellipse":
        return (u / radius) ** 2 + (v / (radius * aspect)) ** 2 <= 1.0
    if kind == "rectangle":
        return (np.abs(u) <= radius) & (np.abs(v) <= radius * aspect)
    angle = np.arctan2(v, u)
    dist = np.hypot(u, v)
    if kind == "triangle":  # polar form of an equilateral triangle
        sector = (angle % (2 * np.pi / 3)) - np.pi / 3
        return dist * np.cos(sector) <= radius * 0.5
    if kind == "star":
        points = int(rng.integers(4, 7))
        return dist <= radius * (0.65 + 0.35 * np.cos(points * angle))
    # blob: a radius perturbed by low-order harmonics
    r = np.ones_like(angle)
    for k in range(2, 5):
        r += rng.uniform(-0.15, 0.15) * np.cos(k * angle + rng.uniform(0, 2 * np.pi))
    return dist <= radius * r


def synthetic_scene(rng: np.random.Generator, height: int, width: int, max_objects: int = 3) -> SegSample:
    """One scene; the target is a random object whose visible area is at least 2 % of the image."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = rng.uniform(30, 225, size=3)
    image = _texture(rng, yy, xx, background)
    size = min(height, width)
    masks: list[np.ndarray] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        radius = rng.uniform(0.14, 0.32) * size
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        mask = _shape_mask(rng, SHAPES[int(rng.integers(len(SHAPES)))], yy, xx, cy, cx, radius)
        if mask.sum() < 16:
            continue
        color = rng.uniform(0, 255, size=3)
        while np.abs(color - background).sum() < 120:  # keep objects distinguishable from the background
            color = rng.uniform(0, 255, size=3)
        image = np.where(mask[..., None], _texture(rng, yy, xx, color), image)
        masks = [m & ~mask for m in masks] + [mask]
    visible = [m for m in masks if m.sum() >= 0.02 * height * width]
    if not visible:
        return synthetic_scene(rng, height, width, max_objects)
    index = int(rng.integers(len(visible)))
    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return SegSample(image=pixels, target=visible[index], others=[m for i, m in enumerate(visible) if i != index])
