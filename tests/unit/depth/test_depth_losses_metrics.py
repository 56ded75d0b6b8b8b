"""Depth losses (TF, checked against NumPy re-implementations of the formulas) and depth metrics."""
import math

import numpy as np
import pytest

import mobilekit  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from mobilekit.core.errors import InputError
from mobilekit.core.tf import tf_and_keras
from mobilekit.families.depth import losses as L
from mobilekit.families.depth.metrics import (
    DEPTH_METRIC_BOUNDS,
    DEPTH_METRICS,
    align_depth,
    aligned_absrel,
    all_metrics,
    depth_metrics,
    portrait_iou,
)

tf, keras = tf_and_keras()


def _data(seed=0, n=3, h=16, w=16, empty_last=True):
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.5, 10.0, (n, h, w, 1)).astype(np.float32)
    pred = rng.uniform(0.5, 10.0, (n, h, w, 1)).astype(np.float32)
    valid = (rng.uniform(size=(n, h, w, 1)) < 0.7).astype(np.float32)
    if empty_last:
        valid[-1] = 0.0
    return target, pred, valid


def _garbage(x, valid, seed=1):
    """Copy of `x` with NaN / inf / negative / zero / huge values in the invalid pixels."""
    rng = np.random.default_rng(seed)
    junk = rng.choice(np.array([np.nan, np.inf, -3.0, 0.0, 1e9], np.float32), size=x.shape)
    return np.where(valid > 0.5, x, junk).astype(np.float32)


def _val(t):
    return float(np.asarray(t))


# ---- NumPy references (float64, straight from the formulas; non-centred 2x2 normal equations) ----


def np_silog(y, p, v, lam=0.5):
    out = []
    for yi, pi, vi in zip(y, p, v):
        m = vi > 0.5
        if not m.any():
            out.append(0.0)
            continue
        d = np.log(pi[m].astype(np.float64)) - np.log(yi[m].astype(np.float64))
        n = d.size
        out.append(np.sum(d**2) / n - lam * np.sum(d) ** 2 / n**2)
    return float(np.mean(out))


def np_residuals(y, p, v):
    """Per image: (residual map with invalid = 0, mask) of the disparity LS alignment."""
    out = []
    for yi, pi, vi in zip(y, p, v):
        m = (vi[..., 0] > 0.5)
        q = np.where(m, 1.0 / np.where(m, yi[..., 0], 1.0), 0.0)
        d = np.where(m, 1.0 / np.where(m, pi[..., 0], 1.0), 0.0)
        if not m.any():
            out.append((np.zeros(m.shape), m.astype(np.float64)))
            continue
        dp, dq = d[m].astype(np.float64), q[m].astype(np.float64)
        a = np.array([[np.sum(dp * dp), np.sum(dp)], [np.sum(dp), dp.size]])
        s, t = np.linalg.solve(a, np.array([np.sum(dp * dq), np.sum(dq)]))
        out.append((np.where(m, s * d + t - q, 0.0), m.astype(np.float64)))
    return out


def np_ssi(y, p, v):
    return float(np.mean([np.sum(np.abs(r)) / max(m.sum(), 1.0) for r, m in np_residuals(y, p, v)]))


def np_log_residuals(y, p, v):
    """Per image: (log predicted - log target depth with invalid = 0, mask): silog's residual."""
    out = []
    for yi, pi, vi in zip(y, p, v):
        m = vi[..., 0] > 0.5
        r = np.log(pi[..., 0].astype(np.float64)) - np.log(yi[..., 0].astype(np.float64))
        out.append((np.where(m, r, 0.0), m.astype(np.float64)))
    return out


def np_grad(y, p, v, scales=4, residuals=np_residuals):
    total = 0.0
    for k in range(scales):
        step = 2**k
        per = []
        for r, m in residuals(y, p, v):
            r, m = r[::step, ::step], m[::step, ::step]
            gx = np.sum(np.abs(np.diff(r, axis=1)) * m[:, 1:] * m[:, :-1])
            gy = np.sum(np.abs(np.diff(r, axis=0)) * m[1:, :] * m[:-1, :])
            per.append((gx + gy) / max(m.sum(), 1.0))
        total += np.mean(per)
    return float(total)


def np_mask_loss(y, p, w):
    per = []
    for yi, pi in zip(y.astype(np.float64), p.astype(np.float64)):
        pc = np.clip(pi, 1e-7, 1 - 1e-7)
        bce = -np.mean(yi * np.log(pc) + (1 - yi) * np.log(1 - pc))
        dice = 1 - (2 * np.sum(yi * pi) + 1) / (np.sum(yi) + np.sum(pi) + 1)
        per.append(bce + dice)
    w = np.asarray(w, np.float64)
    return float(np.sum(w * np.array(per)) / w.sum()) if w.sum() > 0 else 0.0


# ---- losses ----


def test_perfect_prediction_losses_are_zero():
    y, _, v = _data()
    assert _val(L.silog_loss(y, y, v)) == pytest.approx(0.0, abs=1e-7)
    assert _val(L.ssi_loss(y, y, v)) == pytest.approx(0.0, abs=1e-5)
    assert _val(L.gradient_matching_loss(y, y, v)) == pytest.approx(0.0, abs=1e-5)
    assert _val(L.depth_loss("ssi", 0.5)(y, y, v)) == pytest.approx(0.0, abs=1e-5)


def test_silog_scale_invariance_exact_values():
    y, _, v = _data(empty_last=False)
    p = 2.0 * y
    # d = log 2 everywhere: (1/n) sum d^2 = (log 2)^2 and (lam/n^2)(sum d)^2 = lam (log 2)^2
    assert _val(L.silog_loss(y, p, v, lam=1.0)) == pytest.approx(0.0, abs=1e-6)
    assert _val(L.silog_loss(y, p, v, lam=0.5)) == pytest.approx(0.5 * math.log(2.0) ** 2, rel=1e-5)
    assert _val(L.silog_loss(y, p, v, lam=0.0)) == pytest.approx(math.log(2.0) ** 2, rel=1e-5)
    # with an empty image in a batch of 3, it contributes 0 to the mean over 3 images
    y3, _, v3 = _data()
    assert _val(L.silog_loss(y3, 2.0 * y3, v3, lam=0.5)) == pytest.approx(2 / 3 * 0.5 * math.log(2.0) ** 2, rel=1e-5)


def test_ssi_and_gradient_vanish_for_affine_in_disparity_prediction():
    y, _, v = _data()
    p = 1.0 / (3.0 / y + 0.2)  # disparity 3 * d* + 0.2
    assert _val(L.ssi_loss(y, p, v)) == pytest.approx(0.0, abs=1e-5)
    assert _val(L.gradient_matching_loss(y, p, v)) == pytest.approx(0.0, abs=1e-4)
    aligned, s, t = L.align_scale_shift(1.0 / p, 1.0 / y, v)
    np.testing.assert_allclose(np.asarray(s)[:2], 1 / 3, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(t)[:2], -0.2 / 3, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(np.asarray(aligned)[v > 0], 1.0 / y[v > 0], rtol=1e-4)
    assert np.all(np.asarray(s)[2] == 0) and np.all(np.asarray(t)[2] == 0)  # no valid pixel


def test_gradient_matching_positive_for_noisy_prediction():
    y, _, v = _data()
    noisy = y * np.random.default_rng(3).uniform(0.7, 1.3, y.shape).astype(np.float32)
    assert _val(L.gradient_matching_loss(y, noisy, v)) > 1e-3
    assert _val(L.ssi_loss(y, noisy, v)) > 1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_tf_losses_match_numpy_formulas(seed):
    y, p, v = _data(seed)
    np.testing.assert_allclose(_val(L.silog_loss(y, p, v)), np_silog(y, p, v), rtol=1e-4)
    np.testing.assert_allclose(_val(L.silog_loss(y, p, v, lam=0.85)), np_silog(y, p, v, 0.85), rtol=1e-4)
    np.testing.assert_allclose(_val(L.ssi_loss(y, p, v)), np_ssi(y, p, v), rtol=1e-4)
    np.testing.assert_allclose(_val(L.gradient_matching_loss(y, p, v)), np_grad(y, p, v), rtol=1e-4)
    np.testing.assert_allclose(_val(L.gradient_matching_loss(y, p, v, scales=2)), np_grad(y, p, v, 2), rtol=1e-4)
    np.testing.assert_allclose(_val(L.depth_loss("ssi", 0.5)(y, p, v)), np_ssi(y, p, v) + 0.5 * np_grad(y, p, v), rtol=1e-4)
    np.testing.assert_allclose(_val(L.depth_loss("silog", 2.0)(y, p, v)), np_silog(y, p, v) + 2.0 * np_grad(y, p, v, residuals=np_log_residuals), rtol=1e-4)
    np.testing.assert_allclose(_val(L.depth_loss("silog", 0.0)(y, p, v)), np_silog(y, p, v), rtol=1e-4)


def test_invalid_pixels_are_ignored():
    y, p, v = _data()
    yg, pg = _garbage(y, v), _garbage(p, v, seed=2)
    for fn in (L.silog_loss, L.ssi_loss, L.gradient_matching_loss, L.depth_loss("ssi", 0.5), L.depth_loss("silog", 0.5)):
        clean, dirty = _val(fn(y, p, v)), _val(fn(yg, pg, v))
        assert np.isfinite(dirty)
        assert dirty == pytest.approx(clean, rel=1e-6)
    assert depth_metrics(pg, yg, v) == pytest.approx(depth_metrics(p, y, v))
    assert depth_metrics(pg, yg, v, align=True) == pytest.approx(depth_metrics(p, y, v, align=True))


def test_image_without_valid_pixels_contributes_zero():
    y, p, v = _data(empty_last=False, n=2)
    v[1] = 0.0
    for fn in (L.silog_loss, L.ssi_loss, L.gradient_matching_loss):
        both, first = _val(fn(y, p, v)), _val(fn(y[:1], p[:1], v[:1]))
        assert both == pytest.approx(first / 2, rel=1e-5)
        assert _val(fn(y[1:], p[1:], v[1:])) == 0.0
    assert depth_metrics(p, y, v) == pytest.approx(depth_metrics(p[:1], y[:1], v[:1]))
    with pytest.raises(InputError, match="no image has a valid pixel"):
        depth_metrics(p[1:], y[1:], v[1:])


def test_gradients_finite_and_nonzero():
    y, p, v = _data()
    yg, pg = _garbage(y, v), _garbage(p, v, seed=2)
    pred = tf.Variable(pg)
    fns = [L.silog_loss, L.ssi_loss, L.gradient_matching_loss, L.depth_loss("ssi", 0.5), L.depth_loss("silog", 0.5)]
    for fn in fns:
        with tf.GradientTape() as tape:
            value = fn(yg, pred, v)
        g = np.asarray(tape.gradient(value, pred))
        assert value.dtype == tf.float32 and value.shape == ()
        assert np.all(np.isfinite(g)), fn
        assert np.abs(g[v > 0]).max() > 0, fn
        assert np.all(g[v == 0] == 0), fn


def test_mask_loss_weighting():
    rng = np.random.default_rng(5)
    target = (rng.uniform(size=(3, 8, 8, 1)) > 0.5).astype(np.float32)
    prob = rng.uniform(0.01, 0.99, (3, 8, 8, 1)).astype(np.float32)
    w = np.array([1.0, 0.0, 1.0], np.float32)
    np.testing.assert_allclose(_val(L.mask_loss(target, prob, w)), np_mask_loss(target, prob, w), rtol=1e-4)
    # the unlabelled sample's target may be garbage
    junk = target.copy()
    junk[1] = np.nan
    assert _val(L.mask_loss(junk, prob, w)) == pytest.approx(_val(L.mask_loss(target, prob, w)), rel=1e-6)
    assert _val(L.mask_loss(target, prob, np.zeros(3, np.float32))) == 0.0
    assert _val(L.mask_loss(target, target, None)) < 0.05
    pred = tf.Variable(prob)
    with tf.GradientTape() as tape:
        value = L.mask_loss(junk, pred, w)
    g = np.asarray(tape.gradient(value, pred))
    assert np.all(np.isfinite(g)) and np.abs(g[0]).max() > 0 and np.all(g[1] == 0)


def test_losses_in_tf_function_with_dynamic_shapes_and_compile_fit():
    loss = L.depth_loss("ssi", 0.5)
    spec = tf.TensorSpec([None, None, None, 1], tf.float32)
    step = tf.function(lambda y, p, v: loss(y, p, v), input_signature=[spec, spec, spec])
    y, p, v = _data()
    np.testing.assert_allclose(_val(step(y, p, v)), _val(loss(y, p, v)), rtol=1e-6)
    y2, p2, v2 = _data(n=2, h=12, w=20)
    np.testing.assert_allclose(_val(step(y2, p2, v2)), np_ssi(y2, p2, v2) + 0.5 * np_grad(y2, p2, v2), rtol=1e-4)

    inp = keras.Input((8, 8, 1))
    model = keras.Model(inp, keras.layers.Conv2D(1, 3, padding="same", activation="softplus")(inp))
    model.compile(optimizer="sgd", loss=loss)  # valid taken as y_true > 0
    x = np.random.default_rng(0).uniform(0.5, 2.0, (4, 8, 8, 1)).astype(np.float32)
    target = x * 1.5
    target[:, :2] = 0.0
    history = model.fit(x, target, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_depth_loss_rejects_bad_arguments():
    with pytest.raises(InputError, match="silog"):
        L.depth_loss("l1", 0.5)
    with pytest.raises(InputError, match="gradient_weight"):
        L.depth_loss("ssi", -1.0)
    with pytest.raises(InputError, match="scales"):
        L.gradient_matching_loss(np.ones((1, 4, 4, 1)), np.ones((1, 4, 4, 1)), np.ones((1, 4, 4, 1)), scales=0)


# ---- metrics ----


def test_metrics_perfect_and_scaled():
    y, _, v = _data()
    perfect = depth_metrics(y, y, v)
    assert perfect["absrel"] == 0.0 and perfect["rmse"] == 0.0 and perfect["log10"] == 0.0
    assert perfect["delta1"] == perfect["delta2"] == perfect["delta3"] == 1.0
    raw = depth_metrics(2 * y, y, v)
    assert raw["absrel"] == pytest.approx(1.0)
    assert raw["log10"] == pytest.approx(math.log10(2.0))
    assert raw["delta1"] == raw["delta2"] == raw["delta3"] == 0.0  # ratio 2 > 1.25^3 = 1.953
    aligned = depth_metrics(2 * y, y, v, align=True)
    assert aligned["absrel"] == pytest.approx(0.0, abs=1e-9)
    assert aligned["delta1"] == 1.0


def test_metrics_align_affine_disparity_and_by_hand():
    y, _, v = _data()
    p = 1.0 / (3.0 / y + 0.2)
    assert depth_metrics(p, y, v, align=True)["absrel"] == pytest.approx(0.0, abs=1e-6)
    assert depth_metrics(p, y, v)["absrel"] > 0.5
    # by hand on one 1x2 image: p = (1, 4), t = (2, 2)
    m = depth_metrics(np.array([[1.0, 4.0]]), np.array([[2.0, 2.0]]))
    assert m["absrel"] == pytest.approx(0.75)
    assert m["rmse"] == pytest.approx(math.sqrt(2.5))
    assert m["log10"] == pytest.approx(math.log10(2.0))
    assert m["delta1"] == 0.0 and m["delta3"] == 0.0
    # constant prediction: aligned to the mean target disparity, clipped to the range
    const = align_depth(np.full((2, 2), 5.0), np.array([[1.0, 1.0], [1.0, 1.0]]), np.ones((2, 2), bool))
    np.testing.assert_allclose(const, 1.0)
    with pytest.raises(InputError, match="shape"):
        depth_metrics(np.ones((1, 4, 4, 1)), np.ones((1, 4, 5, 1)))


def test_aligned_absrel_is_not_scale_invariant():
    ref = np.random.default_rng(0).uniform(0.5, 5.0, (2, 8, 8, 1))
    assert aligned_absrel(ref, ref) == 0.0
    assert aligned_absrel(ref, 1.01 * ref) == pytest.approx(0.01)
    assert aligned_absrel(ref, 2.0 * ref) == pytest.approx(1.0)
    with pytest.raises(InputError):
        aligned_absrel(ref, ref[:1])


def test_portrait_iou():
    t = np.zeros((3, 4, 4, 1))
    t[0, :2] = 1.0  # 8 px
    p = np.zeros((3, 4, 4, 1))
    p[0, :1] = 0.9  # 4 px inside the target -> IoU 0.5
    p[1, :, :2] = 0.6
    t[1, :, :2] = 1.0  # IoU 1
    # image 2: both empty -> skipped
    assert portrait_iou(p, t) == pytest.approx(0.75)
    assert portrait_iou(p, t, weight=np.array([0.0, 1.0, 1.0])) == pytest.approx(1.0)
    assert portrait_iou(p, t, threshold=0.95) == 0.0  # nothing predicted, targets non-empty
    assert portrait_iou(np.zeros((2, 3, 3)), np.zeros((2, 3, 3))) == 1.0


def test_all_metrics_keys_match_table():
    y, p, v = _data()
    pw = np.array([1.0, 0.0, 1.0])
    out = all_metrics(p, y, v, portrait_pred=np.full(y.shape, 0.7), portrait_target=np.ones(y.shape), portrait_weight=pw)
    assert set(out) == set(DEPTH_METRICS) == set(DEPTH_METRIC_BOUNDS)
    assert out["portrait_iou"] == 1.0
    assert out["absrel"] == depth_metrics(p, y, v)["absrel"]
    assert out["absrel_aligned"] == depth_metrics(p, y, v, align=True)["absrel"]
    assert "portrait_iou" not in all_metrics(p, y, v)
    assert {DEPTH_METRICS[k] for k in ("absrel_aligned", "rmse", "log10")} == {"lower"}
    assert {DEPTH_METRICS[k] for k in ("delta1_aligned", "delta3", "portrait_iou")} == {"higher"}
