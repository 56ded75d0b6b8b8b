"""Segmentation metrics: IoU, boundary F-measure, NoC (number of clicks) for interactive selection.

Pure NumPy/SciPy (no TensorFlow): used by evaluation loops and parity reports alike.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy import ndimage

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.clicks import Click, next_click


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise InputError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    if pred.ndim != 2:
        raise InputError(f"masks must be 2-D (H, W), got shape {pred.shape}")
    return pred.astype(bool, copy=False), target.astype(bool, copy=False)


def iou(pred: np.ndarray, target: np.ndarray) -> float:
    """Intersection over union of two bool masks; 1.0 when both are empty."""
    pred, target = _pair(pred, target)
    union = np.count_nonzero(pred | target)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(pred & target) / union)


_CROSS = ndimage.generate_binary_structure(2, 1)


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Inner boundary: mask pixels with a 4-neighbour outside the mask (the image border is not a
    boundary, as in the DAVIS seg2bmap)."""
    return mask & ~ndimage.binary_erosion(mask, _CROSS, border_value=1)


def boundary_fscore(pred: np.ndarray, target: np.ndarray, tolerance: int = 2) -> float:
    """Boundary F-measure (Perazzi et al. 2016, DAVIS): precision = share of predicted boundary
    pixels within `tolerance` px (Euclidean) of the target boundary, recall = the converse,
    F = 2PR / (P + R). 1.0 when neither mask has a boundary, 0.0 when only one has."""
    if tolerance < 0:
        raise InputError(f"tolerance must be >= 0, got {tolerance}")
    pred, target = _pair(pred, target)
    bp, bt = _boundary(pred), _boundary(target)
    n_p, n_t = np.count_nonzero(bp), np.count_nonzero(bt)
    if n_p == 0 and n_t == 0:
        return 1.0
    if n_p == 0 or n_t == 0:
        return 0.0
    near_t = ndimage.distance_transform_edt(~bt) <= tolerance
    near_p = ndimage.distance_transform_edt(~bp) <= tolerance
    precision = np.count_nonzero(bp & near_t) / n_p
    recall = np.count_nonzero(bt & near_p) / n_t
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def number_of_clicks(
    predict: Callable[[list[Click]], np.ndarray],
    target: np.ndarray,
    thresholds: Sequence[float] = (0.85, 0.90),
    max_clicks: int = 20,
    threshold_prob: float = 0.5,
) -> dict[float, int]:
    """Evaluation protocol for interactive segmentation (NoC@IoU).

    Start with no clicks and an empty prediction; repeatedly add `next_click(pred, target)`, call
    `predict(clicks)` -> probability map (H, W), binarize with `prob > threshold_prob`, and record
    for each IoU threshold the first click count at which IoU >= threshold (`max_clicks` if never).
    Stops early once every threshold is reached.
    """
    target = np.asarray(target).astype(bool, copy=False)
    if target.ndim != 2 or not target.any():
        raise InputError(f"NoC needs a non-empty 2-D target mask, got shape {target.shape}")
    if max_clicks < 1:
        raise InputError(f"max_clicks must be >= 1, got {max_clicks}")
    for t in thresholds:
        if not 0 < t <= 1:
            raise InputError(f"IoU thresholds must lie in (0, 1], got {t}")
    result: dict[float, int] = {}
    clicks: list[Click] = []
    pred = np.zeros_like(target)
    for k in range(1, max_clicks + 1):
        click = next_click(pred, target)
        if click is None:  # perfect already: every threshold was met at an earlier count
            break
        clicks.append(click)
        prob = np.asarray(predict(list(clicks)))
        if prob.shape != target.shape:
            raise InputError(f"predict returned shape {prob.shape}, expected {target.shape}")
        pred = prob > threshold_prob
        score = iou(pred, target)
        for t in thresholds:
            if t not in result and score >= t:
                result[t] = k
        if len(result) == len(thresholds):
            break
    return {t: result.get(t, max_clicks) for t in thresholds}


def summarize_noc(per_sample: list[dict[float, int]]) -> dict[str, float]:
    """Mean NoC per threshold, keyed "noc85", "noc90" (threshold × 100, rounded)."""
    if not per_sample:
        raise InputError("summarize_noc needs at least one sample")
    keys = list(per_sample[0])
    out: dict[str, float] = {}
    for t in keys:
        try:
            values = [sample[t] for sample in per_sample]
        except KeyError:
            raise InputError(f"not every sample has a NoC for IoU threshold {t}") from None
        out[f"noc{round(t * 100)}"] = float(np.mean(values))
    return out
