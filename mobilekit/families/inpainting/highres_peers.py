"""Helpers of `highres`: fast equivalents of the shader references it needs, and region geometry.

The references in `mobilekit.shaders.reference` loop in Python (per output pixel for area, per output
row for bicubic): an area downscale of a 3000x3000 box takes tens of seconds, a bicubic upscale to it
about 5 s. The functions here are vectorized equivalents that also work in output-row bands, so a
full-resolution float copy of a box is never needed:

* `area_bands` / `resize_area_fast` == `reference.resize_area`: same taps and weights (taken from the
  reference's `area_span` / `area_coverage`) summed in the same order (x first, then y, then
  ``* 1 / (sh * sw)``), so equal bit for bit on float32 input (tested within 1e-5).
* `bicubic_bands` / `resize_bicubic_fast` == `reference.resize_bicubic`: the reference's
  `bicubic_coeffs`, rows first then columns, same order (tested within 1e-5).
* `erode_square(mask, r)` == ``reference.erosion2d`` with a flat ``(2r+1)`` square (= r 3x3 erosions;
  out-of-image taps ignored) on boolean masks, via `scipy.ndimage.minimum_filter` (tested).

uint8 inputs are read as ``value / 255`` (float32), booleans as 0 / 1.
"""
from __future__ import annotations

import functools
import math
from typing import Iterator

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from mobilekit.shaders.reference import F32, area_coverage, bicubic_coeffs

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), end exclusive
MIN_CONTEXT_PX = 32
CONTEXT_FRACTION = 0.1
_BAND_SOURCE_ROWS = 256  # source rows converted to float32 at a time


def to_unit_float(x: np.ndarray) -> np.ndarray:
    """float32 view of an image / mask: uint8 -> value / 255, bool -> 0 / 1, float -> float32."""
    a = np.asarray(x)
    if a.dtype == np.uint8:
        return np.divide(a, F32(255.0), dtype=np.float32)
    return a.astype(np.float32, copy=False)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8 (rounded, clipped)."""
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- area
@functools.lru_cache(maxsize=32)
def _area_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), each (out_size, K): the reference's taps per output index, padded with
    weight 0 on the last index (adding 0 changes no float sum)."""
    scale = F32(F32(in_size) / F32(out_size))
    rows = []
    for o in range(out_size):
        lo, hi = F32(F32(o) * scale), F32(F32(o + 1) * scale)
        span = range(int(np.floor(lo)), int(np.ceil(hi)))
        rows.append([(min(in_size - 1, max(0, i)), area_coverage(i, lo, hi, scale)) for i in span])
    k = max(len(r) for r in rows)
    idx = np.array([[i for i, _ in r] + [r[-1][0]] * (k - len(r)) for r in rows], np.intp)
    wts = np.array([[w for _, w in r] + [0.0] * (k - len(r)) for r in rows], np.float32)
    idx.flags.writeable = wts.flags.writeable = False
    return idx, wts


def _weighted_taps(a: np.ndarray, idx: np.ndarray, wts: np.ndarray, axis: int) -> np.ndarray:
    """sum_k take(a, idx[:, k], axis) * wts[:, k], k in order (the reference's summation order)."""
    shape = [1] * a.ndim
    shape[axis] = -1
    acc = np.take(a, idx[:, 0], axis=axis) * wts[:, 0].reshape(shape)
    for k in range(1, idx.shape[1]):
        acc = acc + np.take(a, idx[:, k], axis=axis) * wts[:, k].reshape(shape)
    return acc


def area_bands(x: np.ndarray, size: tuple[int, int]) -> Iterator[tuple[int, np.ndarray]]:
    """``tf.image.resize(x, size, "area")`` of an (H, W) or (H, W, C) array, as (first row, rows)
    bands of float32 (rows, out_w, C); only the source rows of one band are converted at a time."""
    a = x if x.ndim == 3 else x[:, :, None]
    (h, w), (oh, ow) = a.shape[:2], (int(size[0]), int(size[1]))
    yi, yw = _area_taps(h, oh)
    xi, xw = _area_taps(w, ow)
    inv = F32(1.0 / float(F32(F32(F32(h) / F32(oh)) * F32(F32(w) / F32(ow)))))
    band = max(1, int(_BAND_SOURCE_ROWS * oh / h))
    for oy0 in range(0, oh, band):
        ys, ysw = yi[oy0 : oy0 + band], yw[oy0 : oy0 + band]
        first, last = int(ys.min()), int(ys.max()) + 1
        src = to_unit_float(a[first:last])
        cols = _weighted_taps(src, xi, xw, axis=1)  # (rows, ow, C): x first, as the reference
        yield oy0, _weighted_taps(cols, ys - first, ysw, axis=0) * inv


def resize_area_fast(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Vectorized ``reference.resize_area`` for (H, W[, C]) input; returns (oh, ow, C) float32."""
    return np.concatenate([rows for _, rows in area_bands(x, size)], axis=0)


# --------------------------------------------------------------------------- bicubic
@functools.lru_cache(maxsize=32)
def _bicubic_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    scale = F32(F32(in_size) / F32(out_size))
    taps = [bicubic_coeffs(o, scale, in_size) for o in range(out_size)]
    idx = np.array([i for i, _ in taps], np.intp)
    wts = np.array([w for _, w in taps], np.float32)
    idx.flags.writeable = wts.flags.writeable = False
    return idx, wts


def bicubic_bands(x: np.ndarray, size: tuple[int, int], window: Box | None = None,
                  band_rows: int = 128) -> Iterator[tuple[int, np.ndarray]]:
    """``tf.image.resize(x, size, "bicubic")`` of an (h, w, C) float array as (first row, rows) bands
    of float32 (rows, window width, C), only inside `window` (output coordinates; default: all):
    y taps first, then x, as the reference."""
    a = to_unit_float(x if x.ndim == 3 else x[:, :, None])
    y0, x0, y1, x1 = window or (0, 0, int(size[0]), int(size[1]))
    yi, yw = _bicubic_taps(a.shape[0], int(size[0]))
    xi, xw = _bicubic_taps(a.shape[1], int(size[1]))
    for oy0 in range(y0, y1, band_rows):
        oy1 = min(y1, oy0 + band_rows)
        cols = _weighted_taps(a, yi[oy0:oy1], yw[oy0:oy1], axis=0)
        yield oy0, _weighted_taps(cols, xi[x0:x1], xw[x0:x1], axis=1)


def resize_bicubic_fast(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Vectorized ``reference.resize_bicubic`` for (h, w[, C]) input; returns (oh, ow, C) float32."""
    return np.concatenate([rows for _, rows in bicubic_bands(x, size)], axis=0)


# --------------------------------------------------------------------------- morphology
def erode_square(mask: np.ndarray, radius: int) -> np.ndarray:
    """Boolean erosion by a flat (2r+1) square, out-of-image taps ignored (``erosion2d`` semantics)."""
    if radius <= 0:
        return mask.copy()
    eroded = ndimage.minimum_filter(mask.view(np.uint8), size=2 * radius + 1, mode="constant", cval=1)
    return eroded.astype(bool)


# --------------------------------------------------------------------------- geometry
def fit_within(hw: tuple[int, int], limit: tuple[int, int]) -> tuple[int, int]:
    """Size of an (h, w) box scaled to fit within `limit` keeping its aspect; never upscaled."""
    scale = min(1.0, limit[0] / hw[0], limit[1] / hw[1])
    return (max(1, min(limit[0], hw[0], round(hw[0] * scale))), max(1, min(limit[1], hw[1], round(hw[1] * scale))))


def component_boxes(mask: np.ndarray) -> list[Box]:
    """Bounding boxes of the 8-connected components of a boolean mask."""
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return [(s[0].start, s[1].start, s[0].stop, s[1].stop) for s in ndimage.find_objects(labels)]


def outer_components(mask: np.ndarray) -> tuple[np.ndarray, list[Box]]:
    """Labels (1..n) and boxes of the mask's outer contours: 8-connected components of the mask
    with its holes filled (a component inside another's hole belongs to the outer one)."""
    background, _ = ndimage.label(~mask)  # 4-connected: the dual of 8-connected foreground
    border = np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]])
    is_hole = np.ones(int(background.max()) + 1, bool)
    is_hole[0] = False
    is_hole[border] = False
    filled = mask | is_hole[background]
    del background
    labels, _ = ndimage.label(filled, structure=np.ones((3, 3), bool))
    boxes = [(s[0].start, s[1].start, s[0].stop, s[1].stop) for s in ndimage.find_objects(labels)]
    return labels, boxes


def crop_box(box: Box, margin: int, shape: tuple[int, int]) -> Box:
    """`box` grown by `margin` on every side, shifted inward at the image edges (size kept where the
    image is large enough), then clipped (IOPaint's crop box)."""
    (y0, x0, y1, x1), (h, w) = box, shape
    top, bottom = _shift_inward(y0 - margin, y1 + margin, h)
    left, right = _shift_inward(x0 - margin, x1 + margin, w)
    return top, left, bottom, right


def _shift_inward(lo: int, hi: int, limit: int) -> tuple[int, int]:
    if lo < 0:
        lo, hi = 0, hi - lo
    if hi > limit:
        lo, hi = lo - (hi - limit), limit
    return max(lo, 0), hi


def context_boxes(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(n, 4) boxes grown by max(32 px, 10 % of their size) on each side, clipped to the image."""
    size = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)
    margin = np.maximum(MIN_CONTEXT_PX, np.ceil(size * CONTEXT_FRACTION).astype(np.int64))
    lo = np.maximum(boxes[:, :2] - margin, 0)
    hi = np.minimum(boxes[:, 2:] + margin, np.array(shape))
    return np.concatenate([lo, hi], axis=1)


def _overlapping_pairs(boxes: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of overlapping boxes (sweep over boxes sorted by y0, vectorized per chunk)."""
    order = np.argsort(boxes[:, 0], kind="stable")
    b = boxes[order]
    firsts, seconds = [], []
    for c0 in range(0, len(b), chunk):
        rows = b[c0 : c0 + chunk]
        cand = b[c0 : int(np.searchsorted(b[:, 0], rows[:, 2].max(), side="left"))]
        hit = ((rows[:, None, 0] < cand[None, :, 2]) & (cand[None, :, 0] < rows[:, None, 2])
               & (rows[:, None, 1] < cand[None, :, 3]) & (cand[None, :, 1] < rows[:, None, 3]))
        i, j = np.nonzero(hit)
        firsts.append(order[c0 + i])
        seconds.append(order[c0 + j])
    return np.concatenate(firsts), np.concatenate(seconds)


def merge_regions(boxes: list[Box], shape: tuple[int, int]) -> list[tuple[Box, Box]]:
    """Merge components whose context boxes overlap (repeated until none do).
    -> [(region bounding box, its context box)]; context boxes of different regions are disjoint."""
    current = np.array(boxes, np.int64).reshape(-1, 4)
    while True:
        context = context_boxes(current, shape)
        i, j = _overlapping_pairs(context)
        graph = coo_matrix((np.ones(len(i), bool), (i, j)), shape=(len(current),) * 2)
        count, group = connected_components(graph, directed=False)
        if count == len(current):
            break
        merged = np.empty((count, 4), np.int64)
        for axis, reduce in enumerate((np.minimum, np.minimum, np.maximum, np.maximum)):
            start = np.full(count, current[:, axis].max() if axis < 2 else current[:, axis].min())
            reduce.at(start, group, current[:, axis])
            merged[:, axis] = start
        current = merged
    return [(tuple(map(int, b)), tuple(map(int, c))) for b, c in zip(current, context)]


def margin_steps(depth: int, target_steps: int) -> tuple[int, int]:
    """(erosion radius per step, number of steps) that empty a mask `depth` 3x3-erosions deep."""
    radius = max(1, math.ceil(depth / target_steps))
    return radius, math.ceil(depth / radius)
