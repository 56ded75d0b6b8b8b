"""Numerical agreement between a reference and a candidate tensor."""
from __future__ import annotations

import math

import numpy as np


def compare_values(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float | None]:
    """max_abs, mean_abs, max_rel (max abs error over the reference's max magnitude), cosine,
    psnr (dB over the reference's dynamic range; None when the arrays are identical)."""
    ref = reference.astype(np.float64).ravel()
    cand = candidate.astype(np.float64).ravel()
    diff = np.abs(cand - ref)
    mse = float(np.mean(diff**2)) if diff.size else 0.0
    peak = float(ref.max() - ref.min()) if ref.size else 0.0
    peak = peak if peak > 0 else max(float(np.abs(ref).max(initial=0.0)), 1.0)
    norms = float(np.linalg.norm(ref) * np.linalg.norm(cand))
    return {
        "max_abs": float(diff.max(initial=0.0)),
        "mean_abs": float(diff.mean()) if diff.size else 0.0,
        "max_rel": float(diff.max(initial=0.0) / (np.abs(ref).max(initial=0.0) + 1e-12)),
        "cosine": float(np.dot(ref, cand) / norms) if norms > 0 else (1.0 if not np.any(diff) else 0.0),
        "psnr": None if mse == 0.0 else float(10.0 * math.log10(peak**2 / mse)),
    }


def finite(array: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(array)))
