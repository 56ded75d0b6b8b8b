"""Hole quality: PSNR and SSIM over the hole and over its bounding box, L1 over the hole, per
sample and averaged per hole-ratio bucket. Images are float in [0, 1] (data range 1)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from mobilekit.families.inpainting.masks import bucket_name, bucket_of, hole_ratio

EVAL_BUCKETS: tuple[tuple[float, float], ...] = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5))
PSNR_CAP = 100.0  # identical pixels: reported as 100 dB instead of infinity
SSIM_SIGMA = 1.5
_C1, _C2 = 0.01 ** 2, 0.03 ** 2
PER_SAMPLE = ("hole_psnr", "hole_ssim", "box_psnr", "box_ssim", "hole_l1")
DIRECTIONS = {"hole_psnr": "higher", "hole_ssim": "higher", "box_psnr": "higher", "box_ssim": "higher", "hole_l1": "lower"}


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """PSNR (dB) of `a` against `b` over the pixels `where` (H, W) selects."""
    if not where.any():
        return PSNR_CAP
    mse = float(np.mean((a[where].astype(np.float64) - b[where]) ** 2))
    return PSNR_CAP if mse <= 10 ** (-PSNR_CAP / 10) else float(-10 * np.log10(mse))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Gaussian window σ = 1.5, Wang et al. 2004), averaged over channels: (H, W)."""
    from scipy.ndimage import gaussian_filter

    def blur(x):
        return gaussian_filter(x, sigma=(SSIM_SIGMA, SSIM_SIGMA, 0), mode="reflect", truncate=3.5)

    a, b = a.astype(np.float64), b.astype(np.float64)
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + _C1) * (2 * cov + _C2)) / ((mu_a ** 2 + mu_b ** 2 + _C1) * (var_a + var_b + _C2))
    return s.mean(axis=2)


def bounding_box(mask: np.ndarray) -> np.ndarray:
    """The hole's bounding box as a bool (H, W) selection."""
    box = np.zeros_like(mask, bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size:
        box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    return box


def sample_scores(completed: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """The per-sample metrics of one (H, W, 3) completion against the true photo; `mask` (H, W) bool."""
    box = bounding_box(mask)
    similarity = ssim_map(completed, truth)
    hole = mask.any()
    return {"hole_psnr": psnr(completed, truth, mask), "box_psnr": psnr(completed, truth, box),
            "hole_ssim": float(similarity[mask].mean()) if hole else 1.0,
            "box_ssim": float(similarity[box].mean()) if hole else 1.0,
            "hole_l1": float(np.abs(completed[mask] - truth[mask]).mean()) if hole else 0.0}


def metric_names(buckets: Sequence[tuple[float, float]] = EVAL_BUCKETS) -> tuple[str, ...]:
    return PER_SAMPLE + tuple(f"{m}_{bucket_name(b)}" for b in buckets for m in ("hole_psnr", "hole_ssim", "hole_l1"))


def score_batch(completed: np.ndarray, truth: np.ndarray, masks: np.ndarray,
                buckets: Sequence[tuple[float, float]] = EVAL_BUCKETS) -> dict[str, float]:
    """Mean of every per-sample metric, overall and per hole-ratio bucket (NaN for an empty bucket)."""
    rows = []
    for c, t, m in zip(completed, truth, masks):
        hole = np.asarray(m).reshape(t.shape[:2]) > 0.5
        rows.append((bucket_of(hole_ratio(hole), buckets), sample_scores(c, t, hole)))
    scores = {name: float(np.mean([r[name] for _, r in rows])) for name in PER_SAMPLE}
    for i, bucket in enumerate(buckets):
        chosen = [r for b, r in rows if b == i]
        for name in ("hole_psnr", "hole_ssim", "hole_l1"):
            scores[f"{name}_{bucket_name(bucket)}"] = float(np.mean([r[name] for r in chosen])) if chosen else float("nan")
    return scores


def hole_psnr_agreement(reference: np.ndarray, candidate: np.ndarray, inputs: Mapping[str, np.ndarray]) -> float:
    """Task metric of a converted generator: mean hole PSNR of its completions against the reference's."""
    masks = np.asarray(inputs["mask"]) > 0.5
    values = [psnr(c, r, m[..., 0]) for r, c, m in zip(reference, candidate, masks)]
    return float(np.mean(values))
