"""A small tf_keras conv net and random data shared by the optimize tests."""
from __future__ import annotations

import numpy as np
import pytest


def small_net(seed: int = 0):
    """Two inputs like the segmentation family's (image, clicks), convs big enough to be compressed."""
    from mobilekit.core.tf import seed_everything, tf_and_keras

    _, keras = tf_and_keras()
    seed_everything(seed)
    layers = keras.layers
    image = keras.Input((32, 32, 3), name="image")
    clicks = keras.Input((32, 32, 2), name="clicks")
    x = layers.Concatenate()([image, clicks])
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="c1")(x)
    x = layers.BatchNormalization(name="c1_bn")(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="c2")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="c3")(x)
    mask = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    return keras.Model([image, clicks], mask)




@pytest.fixture
def data():
    from mobilekit.core.family import Split

    rng = np.random.default_rng(0)
    inputs = {"image": rng.random((32, 32, 32, 3), dtype=np.float32), "clicks": rng.random((32, 32, 32, 2), dtype=np.float32)}
    targets = (inputs["image"][..., :1] > 0.5).astype(np.float32)
    return Split(inputs, targets)
