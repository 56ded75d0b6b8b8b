"""Procedural shapes and textures shared by the synthetic sources of several families (object
masks for segmentation scenes, object-shaped holes for inpainting). Pure NumPy, seeded by the caller."""
from __future__ import annotations

import numpy as np

SHAPES = ("ellipse", "rectangle", "triangle", "star", "blob")


def texture(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, base: np.ndarray) -> np.ndarray:
    """A colour `base` modulated by two random gratings and fine noise: (H, W, 3) float."""
    out = np.broadcast_to(base, yy.shape + (3,)).astype(np.float32).copy()
    for _ in range(2):
        angle, freq = rng.uniform(0, np.pi), rng.uniform(0.02, 0.25)
        phase, amp = rng.uniform(0, 2 * np.pi), rng.uniform(5, 30)
        wave = np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
        out += (amp * wave)[..., None] * rng.uniform(0.5, 1.0, size=3)
    out += rng.normal(0, rng.uniform(2, 10), size=out.shape)
    return out


def shape_mask(rng: np.random.Generator, kind: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, radius: float) -> np.ndarray:
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
