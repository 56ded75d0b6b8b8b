"""Free-form holes for training and evaluation: brush strokes, blobs and object-shaped masks (the
shapes segmentation's synthetic scenes use), drawn until the hole covers a ratio drawn from a
bucket (e.g. 10–30 % of the image)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mobilekit.data.shapes import SHAPES, shape_mask

MAX_TRIES = 8


def hole_ratio(mask: np.ndarray) -> float:
    return float(np.count_nonzero(mask)) / mask.size


def bucket_of(ratio: float, buckets: Sequence[tuple[float, float]]) -> int | None:
    """Index of the bucket [lo, hi) that holds `ratio` (the last bucket includes its upper end)."""
    for i, (lo, hi) in enumerate(buckets):
        if lo <= ratio < hi or (i == len(buckets) - 1 and ratio == hi):
            return i
    return None


def bucket_name(bucket: tuple[float, float]) -> str:
    return f"{round(bucket[0] * 100)}_{round(bucket[1] * 100)}"


def _stroke(rng: np.random.Generator, height: int, width: int, area: float) -> np.ndarray:
    """A brush stroke: a polyline of 3–7 segments drawn with a round brush."""
    from PIL import Image, ImageDraw

    size = min(height, width)
    brush = float(np.clip(np.sqrt(area) / rng.uniform(2.5, 5.0), 2.0, size / 3))
    length = area / brush
    points = [(rng.uniform(0, width), rng.uniform(0, height))]
    segments = int(rng.integers(3, 8))
    angle = rng.uniform(0, 2 * np.pi)
    for _ in range(segments):
        angle += rng.uniform(-1.2, 1.2)
        step = length / segments
        x, y = points[-1]
        points.append((float(np.clip(x + step * np.cos(angle), 0, width - 1)), float(np.clip(y + step * np.sin(angle), 0, height - 1))))
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    draw.line(points, fill=255, width=max(1, round(brush)))
    r = brush / 2
    for x, y in points:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(canvas) > 0


def _shape(rng: np.random.Generator, kind: str, yy: np.ndarray, xx: np.ndarray, area: float) -> np.ndarray:
    height, width = yy.shape
    radius = float(np.sqrt(area / np.pi)) * rng.uniform(1.0, 1.25)
    cy, cx = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
    return shape_mask(rng, kind, yy, xx, cy, cx, radius)


def _primitive(rng: np.random.Generator, kind: str, yy: np.ndarray, xx: np.ndarray, area: float) -> np.ndarray:
    if kind == "strokes":
        return _stroke(rng, *yy.shape, area)
    if kind == "blobs":
        return _shape(rng, "blob", yy, xx, area)
    return _shape(rng, SHAPES[int(rng.integers(len(SHAPES)))], yy, xx, area)


def free_form_mask(rng: np.random.Generator, height: int, width: int, bucket: tuple[float, float],
                   kinds: Sequence[str] = ("strokes", "blobs", "objects")) -> np.ndarray:
    """A bool (height, width) hole whose ratio lies in `bucket` (the closest of a few tries otherwise)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    lo, hi = bucket
    best, best_gap = None, np.inf
    for _ in range(MAX_TRIES):
        target = rng.uniform(max(lo, 0.01), hi)
        mask = np.zeros((height, width), bool)
        for _ in range(12):
            missing = target - hole_ratio(mask)
            if missing <= 0.005:
                break
            area = missing * height * width * rng.uniform(0.4, 1.0)
            mask |= _primitive(rng, kinds[int(rng.integers(len(kinds)))], yy, xx, area)
        ratio = hole_ratio(mask)
        gap = 0.0 if lo <= ratio <= hi and ratio > 0 else min(abs(ratio - lo), abs(ratio - hi)) + (ratio == 0)
        if gap < best_gap:
            best, best_gap = mask, gap
        if gap == 0.0:
            break
    assert best is not None
    return best
