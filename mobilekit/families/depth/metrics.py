"""Depth metrics: AbsRel, RMSE, log10, delta thresholds (raw and scale/shift-aligned), portrait IoU.

The standard monocular-depth error set (Eigen et al. 2014; Ladicky et al. 2014 for the delta
thresholds), computed per image over valid pixels and averaged over images. The aligned variants
follow the relative-depth protocol of Ranftl et al. 2020 (MiDaS): fit a per-image least-squares
scale and shift in disparity space before scoring. Pure NumPy (no TensorFlow): used by evaluation
loops and parity reports alike. Arrays are (N, H, W, 1), (N, H, W) or a single (H, W) map.
"""
from __future__ import annotations

import numpy as np

from mobilekit.core.errors import InputError

DEPTH_KEYS = ("absrel", "rmse", "log10", "delta1", "delta2", "delta3")
_DIRECTIONS = {"absrel": "lower", "rmse": "lower", "log10": "lower", "delta1": "higher", "delta2": "higher", "delta3": "higher"}
_BOUNDS = {"absrel": (0.0, None), "rmse": (0.0, None), "log10": (0.0, None),
           "delta1": (0.0, 1.0), "delta2": (0.0, 1.0), "delta3": (0.0, 1.0)}

# name -> "higher" | "lower" (which way is better), for building MetricSpecs
DEPTH_METRICS: dict[str, str] = {
    **_DIRECTIONS,
    **{f"{k}_aligned": v for k, v in _DIRECTIONS.items()},
    "portrait_iou": "higher",
}
# name -> (low, high) range a metric can take (None: unbounded)
DEPTH_METRIC_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    **_BOUNDS,
    **{f"{k}_aligned": v for k, v in _BOUNDS.items()},
    "portrait_iou": (0.0, 1.0),
}

ALIGNED_DEPTH_RANGE = (1e-3, 1e3)  # metres; aligned depth is clipped to this
_EPS = 1e-12


def _batch(x: np.ndarray, name: str) -> np.ndarray:
    """(N, H, W[, 1]) or (H, W) -> float64 (N, H, W)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise InputError(f"{name} must be (N, H, W, 1), (N, H, W) or (H, W), got shape {x.shape}")
    return x


def _inputs(pred, target, valid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred, target = _batch(pred, "prediction"), _batch(target, "target")
    if pred.shape != target.shape:
        raise InputError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    if valid is None:
        mask = np.ones(target.shape, bool)
    else:
        mask = _batch(valid, "valid") > 0.5
        if mask.shape != target.shape:
            raise InputError(f"valid mask shape {mask.shape} differs from target shape {target.shape}")
    # a pixel is scorable only with a finite positive target and a finite prediction
    with np.errstate(invalid="ignore"):
        mask = mask & np.isfinite(target) & (target > 0) & np.isfinite(pred)
    return pred, target, mask


def align_depth(pred: np.ndarray, target: np.ndarray, valid: np.ndarray, max_depth: float | None = None) -> np.ndarray:
    """Align one depth map (H, W) to `target` over `valid`: least-squares (s, t) with
    s / pred + t ~ 1 / target in disparity space, then depth = 1 / max(s / pred + t, eps),
    clipped to ALIGNED_DEPTH_RANGE and to `max_depth` when given (the evaluation's depth cap: a
    near-zero aligned disparity would otherwise become an arbitrarily far depth). A constant
    prediction gets s = 0 (t = mean target disparity)."""
    pred_disp = 1.0 / np.maximum(pred, _EPS)
    target_disp = 1.0 / np.maximum(np.where(valid, target, 1.0), _EPS)
    p, q = pred_disp[valid], target_disp[valid]
    if p.size == 0:
        return np.clip(pred, *ALIGNED_DEPTH_RANGE)
    dp = p - p.mean()
    var = float(np.sum(dp * dp))
    s = float(np.sum(dp * (q - q.mean())) / var) if var > 1e-12 * max(float(np.sum(p * p)), _EPS) else 0.0
    t = float(q.mean() - s * p.mean())
    aligned = np.clip(1.0 / np.maximum(s * pred_disp + t, _EPS), *ALIGNED_DEPTH_RANGE)
    return aligned if max_depth is None else np.minimum(aligned, max_depth)


def _image_metrics(p: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """The six errors over 1-D arrays of matching valid pixels (t > 0)."""
    p_pos = np.maximum(p, _EPS)
    ratio = np.maximum(p_pos / t, t / p_pos)
    return {
        "absrel": float(np.mean(np.abs(p - t) / t)),
        "rmse": float(np.sqrt(np.mean((p - t) ** 2))),
        "log10": float(np.mean(np.abs(np.log10(p_pos) - np.log10(t)))),
        "delta1": float(np.mean(ratio < 1.25)),
        "delta2": float(np.mean(ratio < 1.25**2)),
        "delta3": float(np.mean(ratio < 1.25**3)),
    }


def depth_metrics(pred: np.ndarray, target: np.ndarray, valid: np.ndarray | None = None, align: bool = False) -> dict[str, float]:
    """absrel (mean |p - t| / t), rmse (sqrt mean (p - t)^2), log10 (mean |log10 p - log10 t|) and
    delta1..3 (share of pixels with max(p / t, t / p) < 1.25^k), per image over valid pixels
    (valid and a finite positive target), averaged over the images that have a valid pixel.
    `align=True` scores `align_depth(pred)` instead (scale/shift in disparity space), capped at the
    largest valid target depth of the evaluated set, as the MiDaS protocol caps at the dataset's
    maximum depth."""
    pred, target, mask = _inputs(pred, target, valid)
    cap = float(target[mask].max()) if mask.any() else None
    rows = []
    for p, t, m in zip(pred, target, mask):
        if not m.any():
            continue
        if align:
            p = align_depth(p, t, m, cap)
        rows.append(_image_metrics(p[m], t[m]))
    if not rows:
        raise InputError("depth_metrics: no image has a valid pixel")
    return {k: float(np.mean([r[k] for r in rows])) for k in DEPTH_KEYS}


def aligned_absrel(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Parity agreement: AbsRel of `candidate` against `reference` (two model outputs of the same
    inputs, every pixel counted), mean |c - r| / max(r, eps). No scale/shift alignment: a converted
    model must reproduce the reference depth itself, not just up to an affine map."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape:
        raise InputError(f"candidate shape {candidate.shape} differs from reference shape {reference.shape}")
    if reference.size == 0:
        raise InputError("aligned_absrel needs non-empty outputs")
    return float(np.mean(np.abs(candidate - reference) / np.maximum(np.abs(reference), _EPS)))


def portrait_iou(pred_prob: np.ndarray, target: np.ndarray, threshold: float = 0.5, weight: np.ndarray | None = None) -> float:
    """Mean IoU of `pred_prob > threshold` against `target > 0.5`, over the images whose union is
    non-empty (1.0 when every union is empty). `weight` (N,): only samples with weight > 0 (those
    with a portrait label) count; with none labelled the result is 1.0 as well."""
    pred, tgt = _batch(pred_prob, "portrait prediction") > threshold, _batch(target, "portrait target") > 0.5
    if pred.shape != tgt.shape:
        raise InputError(f"portrait prediction shape {pred.shape} differs from target shape {tgt.shape}")
    keep = np.ones(len(pred), bool) if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1) > 0
    if keep.shape != (len(pred),):
        raise InputError(f"portrait weight must have one entry per sample ({len(pred)}), got shape {np.shape(weight)}")
    scores = []
    for p, t in zip(pred[keep], tgt[keep]):
        union = np.count_nonzero(p | t)
        if union:
            scores.append(np.count_nonzero(p & t) / union)
    return float(np.mean(scores)) if scores else 1.0


def all_metrics(
    pred: np.ndarray,
    target: np.ndarray,
    valid: np.ndarray | None = None,
    portrait_pred: np.ndarray | None = None,
    portrait_target: np.ndarray | None = None,
    portrait_weight: np.ndarray | None = None,
) -> dict[str, float]:
    """Raw and aligned depth metrics ("absrel", ..., "absrel_aligned", ...) and, when portrait
    prediction and target are given and at least one sample is labelled, "portrait_iou"."""
    out = depth_metrics(pred, target, valid, align=False)
    out.update({f"{k}_aligned": v for k, v in depth_metrics(pred, target, valid, align=True).items()})
    if portrait_pred is not None and portrait_target is not None:
        labelled = portrait_weight is None or bool(np.any(np.asarray(portrait_weight) > 0))
        if labelled:
            out["portrait_iou"] = portrait_iou(portrait_pred, portrait_target, weight=portrait_weight)
    return out
