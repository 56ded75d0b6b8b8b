"""Training losses for monocular depth (tf_keras): SILog, SSI, multi-scale gradient matching, portrait mask.

Conventions: tensors are NHWC with batch first. Depth maps (prediction and ground truth) are
(N, H, W, 1) float32 in metres; the prediction is positive (softplus head). `valid` is
(N, H, W, 1) in {0, 1}; only valid pixels count, and whatever sits in invalid pixels (zeros,
negatives, NaN) never reaches the loss or its gradient. Every loss is a per-image quantity
averaged over the batch (all N images); an image without a single valid pixel contributes 0.
When `valid` is None it is taken as `y_true > 0` (the usual "0 = no measurement" convention),
so `depth_loss(...)` can be passed straight to `model.compile(loss=...)`.

TensorFlow is only reached through `tf_and_keras()` inside the functions (no heavy import when
the family's config is validated).
"""
from __future__ import annotations

from typing import Callable, Literal

from mobilekit.core.errors import InputError
from mobilekit.core.tf import tf_and_keras

EPS = 1e-6  # guards logs, inverses and divisions
RIDGE = 1e-6  # ridge on the scale term of the least-squares alignment (degenerate images)
_AXES = (1, 2, 3)

DepthLossName = Literal["silog", "ssi"]


def _prepare(y_true, y_pred, valid):
    """float32 tensors; mask in {0, 1}; invalid pixels replaced by 1.0 (finite, gradient-free)."""
    tf, _ = tf_and_keras()
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.cast(y_pred, tf.float32)
    if valid is None:
        valid = tf.where(tf.math.is_finite(y_true), y_true, tf.zeros_like(y_true)) > 0.0
    else:
        valid = tf.cast(valid, tf.float32) > 0.5
    ones = tf.ones_like(y_true)
    mask = tf.cast(valid, tf.float32)
    return tf.where(valid, y_true, ones), tf.where(valid, y_pred, ones), mask


def _batch_mean(per_image):
    tf, _ = tf_and_keras()
    return tf.reduce_mean(per_image)


def silog_loss(y_true, y_pred, valid=None, lam: float = 0.5):
    """Scale-invariant log loss (Eigen, Puhrsch & Fergus 2014, "Depth Map Prediction from a Single
    Image using a Multi-Scale Deep Network", eq. 4): per image, with d = log y - log y* over its n
    valid pixels, L = (1/n) sum d^2 - (lam/n^2) (sum d)^2; mean over images. lam = 1 is fully
    scale-invariant, lam = 0 is plain log-MSE. Logs are taken of max(depth, EPS)."""
    tf, _ = tf_and_keras()
    y_true, y_pred, mask = _prepare(y_true, y_pred, valid)
    d = (tf.math.log(tf.maximum(y_pred, EPS)) - tf.math.log(tf.maximum(y_true, EPS))) * mask
    n = tf.maximum(tf.reduce_sum(mask, axis=_AXES), 1.0)
    per_image = tf.reduce_sum(tf.square(d), axis=_AXES) / n - lam * tf.square(tf.reduce_sum(d, axis=_AXES) / n)
    return _batch_mean(per_image)


def align_scale_shift(pred, target, valid):
    """Per-image least-squares scale and shift: (s, t) = argmin sum_valid (s * pred + t - target)^2.

    Works in whatever space it is given (the SSI loss passes disparities). The 2x2 normal
    equations are solved in closed form in their centred (numerically stable) form,
    s = cov(pred, target) / (var(pred) + RIDGE), t = mean(target) - s * mean(pred), the ridge
    keeping degenerate images finite (constant prediction: s = 0, t = mean target; no valid
    pixel: s = t = 0). Differentiable in `pred` (the alignment is part of the graph, as in MiDaS).
    Returns (aligned = s * pred + t of shape (N, H, W, 1), s of shape (N,), t of shape (N,)).
    Invalid pixels of `aligned` hold t (they are masked by the callers).
    """
    tf, _ = tf_and_keras()
    mask = tf.cast(tf.cast(valid, tf.float32) > 0.5, tf.float32)
    pred = tf.where(mask > 0, tf.cast(pred, tf.float32), tf.zeros_like(mask))
    target = tf.where(mask > 0, tf.cast(target, tf.float32), tf.zeros_like(mask))
    n = tf.maximum(tf.reduce_sum(mask, axis=_AXES, keepdims=True), 1.0)
    mean_p = tf.reduce_sum(pred * mask, axis=_AXES, keepdims=True) / n
    mean_t = tf.reduce_sum(target * mask, axis=_AXES, keepdims=True) / n
    dp = (pred - mean_p) * mask
    dt = (target - mean_t) * mask
    s = tf.reduce_sum(dp * dt, axis=_AXES, keepdims=True) / (tf.reduce_sum(dp * dp, axis=_AXES, keepdims=True) + RIDGE)
    t = mean_t - s * mean_p
    aligned = s * pred + t
    return aligned, tf.reshape(s, [-1]), tf.reshape(t, [-1])


def _aligned_disparity(y_true, y_pred, valid):
    """(aligned predicted disparity, target disparity, mask), invalid pixels zeroed."""
    y_true, y_pred, mask = _prepare(y_true, y_pred, valid)
    tf, _ = tf_and_keras()
    pred_disp = 1.0 / tf.maximum(y_pred, EPS)
    target_disp = 1.0 / tf.maximum(y_true, EPS)
    aligned, _, _ = align_scale_shift(pred_disp, target_disp, mask)
    return aligned * mask, target_disp * mask, mask


def _log_depths(y_true, y_pred, valid):
    """(log predicted depth, log target depth, mask), invalid pixels zeroed: the residual of these
    is MegaDepth's log-depth residual, whose gradients are invariant to the prediction's scale."""
    tf, _ = tf_and_keras()
    y_true, y_pred, mask = _prepare(y_true, y_pred, valid)
    return (tf.math.log(tf.maximum(y_pred, EPS)) * mask, tf.math.log(tf.maximum(y_true, EPS)) * mask, mask)


def _ssi_from(aligned, target, mask):
    tf, _ = tf_and_keras()
    n = tf.maximum(tf.reduce_sum(mask, axis=_AXES), 1.0)
    return _batch_mean(tf.reduce_sum(tf.abs(aligned - target) * mask, axis=_AXES) / n)


def ssi_loss(y_true, y_pred, valid=None):
    """Scale-and-shift-invariant loss (Ranftl et al. 2020, "Towards Robust Monocular Depth
    Estimation: Mixing Datasets for Zero-shot Cross-dataset Transfer" (MiDaS), eq. 5-6 with the
    least-squares alignment of eq. 4), in disparity space (1 / depth): per image align the predicted
    disparity to the target disparity with `align_scale_shift`, then the mean absolute residual over
    valid pixels; mean over images."""
    return _ssi_from(*_aligned_disparity(y_true, y_pred, valid))


def _gradient_from(aligned, target, mask, scales: int):
    tf, _ = tf_and_keras()
    residual = (aligned - target) * mask
    total = 0.0
    for k in range(scales):
        step = 2**k
        r = residual[:, ::step, ::step, :]
        m = mask[:, ::step, ::step, :]
        mx = m[:, :, 1:, :] * m[:, :, :-1, :]
        my = m[:, 1:, :, :] * m[:, :-1, :, :]
        gx = tf.reduce_sum(tf.abs(r[:, :, 1:, :] - r[:, :, :-1, :]) * mx, axis=_AXES)
        gy = tf.reduce_sum(tf.abs(r[:, 1:, :, :] - r[:, :-1, :, :]) * my, axis=_AXES)
        n = tf.maximum(tf.reduce_sum(m, axis=_AXES), 1.0)
        total += _batch_mean((gx + gy) / n)
    return total


def gradient_matching_loss(y_true, y_pred, valid=None, scales: int = 4):
    """Multi-scale gradient matching (Li & Snavely 2018, MegaDepth; as used by Ranftl et al. 2020,
    eq. 11): on the SSI-aligned disparity residual R = aligned_pred - target, for k = 0..scales-1
    take R and the mask at stride 2^k (strided slicing, as in the MiDaS reference code) and add
    (1/M) sum (|grad_x R| + |grad_y R|), a finite difference counted only where both neighbours are
    valid and M the number of valid pixels at that scale; mean over images, summed over scales."""
    if scales < 1:
        raise InputError(f"gradient_matching_loss needs scales >= 1, got {scales}")
    return _gradient_from(*_aligned_disparity(y_true, y_pred, valid), scales)


def mask_loss(y_true, y_pred, weight=None):
    """Portrait mask loss: per-sample binary cross-entropy (pixel mean, probabilities clipped to
    [1e-7, 1 - 1e-7]) plus soft Dice (Milletari et al. 2016, V-Net; smoothing 1), weighted by
    `weight` (N,) and normalized by sum(weight); 0 when no sample is labelled. Targets of samples
    with weight 0 are ignored (may hold anything). `weight` None: every sample labelled."""
    tf, _ = tf_and_keras()
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.cast(y_pred, tf.float32)
    if weight is None:
        weight = tf.ones(tf.shape(y_true)[:1], tf.float32)
    weight = tf.reshape(tf.cast(weight, tf.float32), [-1])
    labelled = tf.reshape(weight > 0, [-1, 1, 1, 1]) & tf.ones_like(y_true, dtype=tf.bool)
    y_true = tf.where(labelled, y_true, tf.zeros_like(y_true))
    y_pred = tf.where(labelled, y_pred, tf.fill(tf.shape(y_pred), 0.5))
    p = tf.clip_by_value(y_pred, 1e-7, 1.0 - 1e-7)
    bce = -tf.reduce_mean(y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p), axis=_AXES)
    intersection = tf.reduce_sum(y_true * y_pred, axis=_AXES)
    dice = 1.0 - (2.0 * intersection + 1.0) / (tf.reduce_sum(y_true, axis=_AXES) + tf.reduce_sum(y_pred, axis=_AXES) + 1.0)
    weight = tf.where(weight > 0, weight, tf.zeros_like(weight))
    return tf.math.divide_no_nan(tf.reduce_sum(weight * (bce + dice)), tf.reduce_sum(weight))


def depth_loss(name: DepthLossName, gradient_weight: float = 0.5, scales: int = 4) -> Callable:
    """The depth training loss: `name` ("silog" or "ssi") plus gradient_weight x multi-scale
    gradient matching on that loss's own residual: the log-depth residual for silog (MegaDepth),
    the SSI-aligned disparity residual for ssi (MiDaS uses 0.5 with 4 scales). Returns
    `loss(y_true_depth, y_pred_depth, valid=None) -> scalar`, usable in a custom tf.function step or (valid from y_true > 0) with `model.compile(loss=...)`."""
    if name not in ("silog", "ssi"):
        raise InputError(f"depth loss must be 'silog' or 'ssi', got {name!r}")
    if not gradient_weight >= 0:
        raise InputError(f"gradient_weight must be >= 0, got {gradient_weight}")
    if scales < 1:
        raise InputError(f"scales must be >= 1, got {scales}")
    weight = float(gradient_weight)

    def loss(y_true, y_pred, valid=None):
        if name == "silog":
            value = silog_loss(y_true, y_pred, valid)
            if weight == 0.0:
                return value
            return value + weight * _gradient_from(*_log_depths(y_true, y_pred, valid), scales)
        else:
            parts = _aligned_disparity(y_true, y_pred, valid)
            value = _ssi_from(*parts)
            if weight == 0.0:
                return value
        return value + weight * _gradient_from(*parts, scales)

    loss.__name__ = f"{name}_loss" if weight == 0.0 else f"{name}_gradient_loss"
    return loss
