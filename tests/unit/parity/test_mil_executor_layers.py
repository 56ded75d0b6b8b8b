"""MIL executor vs TensorFlow on small tf_keras models, one family of layers per model.

Each model is converted to an ML program (fp32 and fp16), saved, loaded back with
`load_program` and executed by the NumPy executor; the reference is TensorFlow itself.
fp32: max-abs <= 1e-4 (values are kept O(1)); fp16: PSNR >= 40 dB.
"""
from __future__ import annotations

import mobilekit  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
ct = pytest.importorskip("coremltools")
keras = pytest.importorskip("tf_keras")

from mobilekit.parity.mil import load_program, run_program  # noqa: E402

H = W = 24


def psnr(ref: np.ndarray, out: np.ndarray) -> float:
    ref = ref.astype(np.float64)
    out = out.astype(np.float64)
    mse = np.mean((ref - out) ** 2)
    peak = ref.max() - ref.min()
    return float("inf") if mse == 0 else float(20 * np.log10(peak / np.sqrt(mse)))


def convert_and_run(model, x: np.ndarray, precision, tmp_path, target=None):
    spec = tf.TensorSpec(x.shape, tf.float32, name="x")
    fn = tf.function(lambda a: model(a, training=False)).get_concrete_function(spec)
    kwargs = {"minimum_deployment_target": target} if target is not None else {}
    mlmodel = ct.convert([fn], source="tensorflow", convert_to="mlprogram", compute_precision=precision, **kwargs)
    path = tmp_path / f"m_{precision.name}.mlpackage"
    mlmodel.save(str(path))
    prog = load_program(path)
    res = run_program(prog, {"x": x})
    (name,) = [o["name"] for o in prog.outputs]
    return prog, res.outputs[name].astype(np.float32)


def _rng():
    return np.random.default_rng(1234)


def _randomize(model, scale=0.3):
    """Replace all weights by O(1) random values (BN stats: positive variances)."""
    rng = _rng()
    new = []
    for w in model.weights:
        v = w.numpy()
        if "moving_variance" in w.name or "gamma" in w.name:
            new.append(rng.uniform(0.5, 1.5, v.shape).astype(v.dtype))
        elif "alpha" in w.name:
            new.append(rng.uniform(0.05, 0.4, v.shape).astype(v.dtype))
        else:
            new.append((rng.standard_normal(v.shape) * scale).astype(v.dtype))
    model.set_weights(new)
    return model


L = keras.layers


def m_conv():
    i = keras.Input((H, W, 3))
    a = L.Conv2D(6, 3, strides=2, padding="same")(i)
    b = L.Conv2D(6, 4, strides=2, padding="same")(i)  # even kernel: asymmetric SAME padding
    c = L.Conv2D(6, 5, strides=2, padding="valid")(L.ZeroPadding2D(((2, 1), (1, 2)))(i))
    d = L.Conv2D(6, 3, dilation_rate=2, padding="same", strides=1)(i)
    d = L.AveragePooling2D(2)(d)
    e = L.Conv2D(6, 1, strides=2)(i)
    return keras.Model(i, L.Concatenate()([a, b, c, d, e]))


def m_depthwise():
    i = keras.Input((H, W, 4))
    a = L.DepthwiseConv2D(3, strides=2, padding="same")(i)
    b = L.DepthwiseConv2D(3, depth_multiplier=2, padding="valid", strides=2)(L.ZeroPadding2D(1)(i))
    c = L.SeparableConv2D(8, 3, strides=2, padding="same")(i)
    d = L.DepthwiseConv2D(3, dilation_rate=2, padding="same")(i)
    d = L.MaxPooling2D(2)(d)
    return keras.Model(i, L.Concatenate()([a, b, c, d]))


def m_conv_transpose():
    i = keras.Input((H // 2, W // 2, 4))
    a = L.Conv2DTranspose(5, 3, strides=2, padding="same")(i)
    b = L.Conv2DTranspose(5, 4, strides=2, padding="same")(i)
    c = L.Conv2DTranspose(5, 2, strides=2, padding="valid")(i)
    d = L.Conv2DTranspose(5, 3, strides=1, padding="valid")(i)
    d = L.Cropping2D(1)(d)
    d = L.UpSampling2D(2)(d)
    return keras.Model(i, L.Concatenate()([a, b, c, d]))


def m_pooling():
    i = keras.Input((H, W, 4))
    a = L.MaxPooling2D(2)(i)
    b = L.MaxPooling2D(3, strides=2, padding="same")(i)
    c = L.AveragePooling2D(3, strides=2, padding="same")(i)  # TF excludes padding from the mean
    d = L.AveragePooling2D(2, padding="valid")(i)
    x = L.Concatenate()([a, b, c, d])
    g1 = L.GlobalAveragePooling2D(keepdims=True)(i)
    g2 = L.GlobalMaxPooling2D(keepdims=True)(i)
    g = L.UpSampling2D((H // 2, W // 2))(L.Concatenate()([g1, g2]))
    return keras.Model(i, L.Concatenate()([x, g]))


def m_batchnorm():
    i = keras.Input((H, W, 4))
    a = L.BatchNormalization()(i)  # not foldable into a conv: stays a batch_norm / mul+add
    b = L.BatchNormalization()(L.MaxPooling2D(1)(i * 2.0))
    return _randomize(keras.Model(i, L.Concatenate()([a, b])))


def m_activations():
    i = keras.Input((H, W, 3))
    x = L.Conv2D(4, 3, padding="same")(i)
    branches = [
        L.ReLU()(x),
        L.ReLU(max_value=6.0)(x * 4),
        L.LeakyReLU(0.2)(x),
        L.Activation("sigmoid")(x),
        L.Activation("hard_sigmoid")(x),
        L.Activation("tanh")(x),
        L.ELU(0.7)(x),
        L.Activation("swish")(x),
        L.Activation("softplus")(x),
        L.Activation("softsign")(x),
        L.PReLU(shared_axes=[1, 2])(x),
        L.Lambda(lambda t: 0.5 * t * (1.0 + tf.math.erf(t / np.sqrt(2.0))))(x),  # fused to gelu EXACT
        L.Lambda(lambda t: tf.nn.gelu(t, approximate=True))(x),
        L.Lambda(lambda t: tf.nn.selu(t))(x),
        L.Lambda(lambda t: tf.nn.relu6(t * 3.0))(x),
        L.ThresholdedReLU(0.3)(x),
        L.Softmax(axis=-1)(x),
    ]
    return _randomize(keras.Model(i, L.Concatenate()(branches)))


def m_elementwise():
    i = keras.Input((H, W, 3))
    a = L.Conv2D(3, 3, padding="same")(i)
    b = L.Conv2D(3, 1)(i)
    pos = tf.abs(a) + 0.5
    outs = [
        a + b, a - b, a * b, a / (tf.abs(b) + 1.0), tf.maximum(a, b), tf.minimum(a, b),
        tf.sqrt(pos), tf.math.rsqrt(pos), tf.exp(tf.clip_by_value(a, -3, 3)), tf.math.log(pos),
        tf.abs(a), tf.square(a), tf.floor(a * 3), tf.math.ceil(a * 3), tf.round(a * 3), tf.sign(a),
        tf.sin(a), tf.cos(a), tf.math.erf(a), tf.pow(pos, 1.7),
        tf.where(a > b, a, b * 2.0), tf.cast(a > 0.1, tf.float32), tf.cast(tf.logical_and(a > 0, b < 0), tf.float32),
        tf.clip_by_value(a, -0.2, 0.3), tf.math.floordiv(a * 4, 1.5), tf.math.floormod(a * 4, 1.5),
    ]
    return _randomize(keras.Model(i, tf.concat(outs, axis=-1)))


def m_resize():
    i = keras.Input((H // 2, W // 2, 3))
    x = L.Conv2D(3, 1)(i)
    outs = [
        L.UpSampling2D(2, interpolation="nearest")(x),
        L.UpSampling2D(2, interpolation="bilinear")(x),
        tf.image.resize(x, (H, W), method="bilinear"),
        tf.image.resize(x, (H, W), method="nearest"),
        tf.compat.v1.image.resize_bilinear(x, (H, W), align_corners=True),
        tf.compat.v1.image.resize_bilinear(x, (H, W), align_corners=False),
        tf.image.resize(tf.image.resize(x, (7, 5), method="bilinear"), (H, W), method="bilinear"),
        tf.image.resize(tf.image.resize(x, (H + 6, W + 6), method="bilinear"), (H, W), method="bilinear"),
    ]
    return _randomize(keras.Model(i, tf.concat(outs, axis=-1)))


def m_tensor():
    i = keras.Input((H, W, 4))
    x = L.Conv2D(4, 1)(i)
    refl = tf.pad(x, [[0, 0], [2, 1], [1, 2], [0, 0]], mode="REFLECT")[:, 1:-2, 2:-1, :]
    const = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=0.5)[:, 2:, :-2, :]
    s1, s2 = tf.split(x, [1, 3], axis=-1)
    d2s = tf.nn.depth_to_space(tf.concat([x, x * 2, x * 3, x - 1], -1)[:, ::2, ::2, :], 2)
    s2d = tf.nn.space_to_depth(x, 2)
    s2d = tf.nn.depth_to_space(s2d[..., ::-1], 2)
    tiled = tf.tile(x[:, : H // 2, : W // 3, :], [1, 2, 3, 1])
    strided = tf.image.resize(x[:, ::2, 1::2, :], (H, W), method="nearest")
    transposed = tf.transpose(x, [0, 2, 1, 3])
    reshaped = tf.reshape(tf.reshape(x, [1, H * W, 4])[:, ::-1, :], [1, H, W, 4])
    gathered = tf.gather(x, [3, 1, 0, 2], axis=-1)
    rev = tf.reverse(x, axis=[1])
    cums = tf.math.cumsum(x, axis=2) * 0.1
    outs = [refl, const, s2 * s1, d2s, s2d, tiled, strided, transposed, reshaped, gathered, rev, cums]
    return _randomize(keras.Model(i, tf.concat(outs, axis=-1)))


def m_dense():
    i = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, strides=2, padding="same")(i)
    f = L.Flatten()(x)
    d = L.Dense(10, activation="relu")(f)
    d = L.Dense(6)(d)
    s = L.Softmax()(d)
    t = L.Dense(5)(L.Reshape((16, 4))(x))  # Dense on a 3-D tensor -> matmul / linear
    mm = tf.matmul(t, t, transpose_a=True)  # [1, 5, 5]
    return _randomize(keras.Model(i, tf.concat([d, s, tf.reshape(mm, [1, 25]), tf.reshape(t, [1, 80])], -1)))


def m_reduce():
    i = keras.Input((H, W, 4))
    x = L.Conv2D(4, 3, padding="same")(i)
    outs = [
        tf.reduce_mean(x, axis=[1, 2]), tf.reduce_sum(x, axis=[1]) [:, 0, :] * 0.1, tf.reduce_max(x, axis=[1, 2]),
        tf.reduce_min(x, axis=[2])[:, 3, :], tf.reduce_prod(x[:, :3, :3, :] * 0.5 + 1.0, axis=[1, 2]),
        tf.cast(tf.argmax(x, axis=-1), tf.float32)[:, 0, :4], tf.reduce_logsumexp(x, axis=[1, 2]),
        tf.norm(x, axis=[1, 2]) * 0.1, tf.reduce_mean(tf.square(x), axis=[1, 2]),
        tf.reshape(tf.math.l2_normalize(x, axis=-1)[:, :2, :2, :], [1, 16]),
        tf.reduce_mean(x, axis=-1)[:, 0, :],
    ]
    return _randomize(keras.Model(i, tf.concat(outs, axis=-1)))


def m_norms():
    i = keras.Input((H, W, 4))
    x = L.Conv2D(6, 3, padding="same")(i)
    ln = L.LayerNormalization(axis=-1)(x)
    ln2 = L.LayerNormalization(axis=[1, 2, 3])(x)
    mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    inorm = (x - mean) * tf.math.rsqrt(var + 1e-3)
    lrn = tf.nn.local_response_normalization(x, depth_radius=2, bias=1.0, alpha=0.1, beta=0.75)
    return _randomize(keras.Model(i, tf.concat([ln, ln2, inorm, lrn], -1)))


MODELS = {
    "conv": (m_conv, (1, H, W, 3)),
    "depthwise": (m_depthwise, (1, H, W, 4)),
    "conv_transpose": (m_conv_transpose, (1, H // 2, W // 2, 4)),
    "pooling": (m_pooling, (1, H, W, 4)),
    "batchnorm": (m_batchnorm, (1, H, W, 4)),
    "activations": (m_activations, (1, H, W, 3)),
    "elementwise": (m_elementwise, (1, H, W, 3)),
    "resize": (m_resize, (1, H // 2, W // 2, 3)),
    "tensor": (m_tensor, (1, H, W, 4)),
    "dense": (m_dense, (1, 8, 8, 3)),
    "reduce": (m_reduce, (1, H, W, 4)),
    "norms": (m_norms, (1, H, W, 4)),
}


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name):
        if name not in cache:
            builder, shape = MODELS[name]
            model = builder()
            x = _rng().standard_normal(shape).astype(np.float32)
            cache[name] = (model, x, model(x, training=False).numpy())
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fp32_matches_tensorflow(name, built, tmp_path):
    model, x, ref = built(name)
    prog, out = convert_and_run(model, x, ct.precision.FLOAT32, tmp_path)
    assert prog.compute_precision == "fp32"
    assert out.shape == ref.shape
    err = float(np.abs(out - ref).max())
    assert err <= 1e-4, f"{name}: fp32 max-abs {err:.3g} (ref max {np.abs(ref).max():.3g}); ops {prog.op_types()}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fp16_psnr(name, built, tmp_path):
    model, x, ref = built(name)
    prog, out = convert_and_run(model, x, ct.precision.FLOAT16, tmp_path)
    assert prog.compute_precision == "fp16"
    value = psnr(ref, out)
    assert value >= 40.0, f"{name}: fp16 PSNR {value:.1f} dB; ops {prog.op_types()}"


def test_executor_exposes_known_conversion_deviations(tmp_path):
    """Two places where coremltools 9's TF frontend changes the maths; the executor must show it
    (it reproduces the converted program, not TensorFlow):
    - tf.math.reciprocal becomes MIL `inverse`, whose epsilon defaults to 1e-4: 1/(x + 1e-4);
    - tf.pad(mode="SYMMETRIC") is converted as mode="reflect" (MirrorPad handler maps it).
    """
    i = keras.Input((8, 8, 2))
    recip = tf.math.reciprocal(tf.abs(i) + 0.25)
    sym = tf.pad(i, [[0, 0], [2, 2], [1, 1], [0, 0]], mode="SYMMETRIC")[:, 2:-2, 1:-1, :] * 0 + tf.pad(
        i, [[0, 0], [2, 2], [1, 1], [0, 0]], mode="SYMMETRIC"
    )[:, :8, :8, :]
    model = keras.Model(i, tf.concat([recip, sym], -1))
    x = _rng().standard_normal((1, 8, 8, 2)).astype(np.float32)
    ref = model(x, training=False).numpy()
    _, out = convert_and_run(model, x, ct.precision.FLOAT32, tmp_path)
    # reciprocal: off from TF by the epsilon, equal to 1/(x + 1e-4)
    assert np.abs(out[..., :2] - ref[..., :2]).max() > 1e-5
    np.testing.assert_allclose(out[..., :2], 1.0 / (np.abs(x) + 0.25 + 1e-4), rtol=1e-6, atol=1e-6)
    # symmetric pad: differs from TF, equals TF's REFLECT
    reflect = tf.pad(x, [[0, 0], [2, 2], [1, 1], [0, 0]], mode="REFLECT").numpy()[:, :8, :8, :]
    assert np.abs(out[..., 2:] - ref[..., 2:]).max() > 0.1
    np.testing.assert_allclose(out[..., 2:], reflect, atol=1e-6)
