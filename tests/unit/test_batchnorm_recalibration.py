"""Precise-BN: re-estimated BatchNorm statistics make inference match training-mode normalization."""
import numpy as np

from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.batchnorm import recalibrate_batchnorm


def _model(keras):
    x = keras.Input((8, 8, 3), name="image")
    y = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(x)
    y = keras.layers.BatchNormalization()(y)
    return keras.Model(x, keras.layers.ReLU()(y))


def test_stale_statistics_are_replaced_by_the_data_average():
    _, keras = tf_and_keras()
    model = _model(keras)
    images = np.random.default_rng(0).normal(3.0, 2.0, (64, 8, 8, 3)).astype(np.float32)
    # fresh statistics (mean 0, variance 1) do not describe these inputs
    stale = np.abs(model(images, training=False).numpy() - model(images, training=True).numpy()).max()
    used = recalibrate_batchnorm(model, {"image": images}, batch_size=64, max_batches=4)
    assert used == 1
    fresh = np.abs(model(images, training=False).numpy() - model(images, training=True).numpy()).max()
    assert stale > 1.0 and fresh < 1e-2 * stale
    norm = next(l for l in model.layers if isinstance(l, keras.layers.BatchNormalization))
    assert norm.momentum == 0.99  # restored


def test_average_over_batches_and_no_batchnorm():
    _, keras = tf_and_keras()
    model = _model(keras)
    images = np.random.default_rng(1).normal(0.0, 1.0, (48, 8, 8, 3)).astype(np.float32)
    images[::2] += 4.0  # batches differ; the estimate is their plain average, not the last one's
    assert recalibrate_batchnorm(model, {"image": images}, batch_size=16, max_batches=10) == 3
    norm = next(l for l in model.layers if isinstance(l, keras.layers.BatchNormalization))
    conv = keras.Model(model.input, norm.input)
    order = np.random.default_rng(0).permutation(48)
    means = [conv(images[np.sort(order[k * 16:(k + 1) * 16])]).numpy().mean(axis=(0, 1, 2)) for k in range(3)]
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean(means, axis=0), rtol=1e-4, atol=1e-5)
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert recalibrate_batchnorm(plain, {"x": np.zeros((4, 4), np.float32)}, 2) == 0
