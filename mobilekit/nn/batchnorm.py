"""Re-estimating BatchNormalization statistics from data ("precise BN", Wu & Johnson 2021).

BatchNorm's moving averages (momentum 0.99) trail the weights: after a short, fast schedule or a
compression pass that changes kernels in jumps, they still mix in statistics of weights the model
no longer has, and inference-mode outputs drift from what training saw. Replacing them with the
plain average over a few batches of training data, with the weights as they now are, removes that
lag. Forward passes only, no gradient step."""
from __future__ import annotations

from typing import Mapping

import numpy as np


def recalibrate_batchnorm(model, inputs: Mapping[str, np.ndarray], batch_size: int, max_batches: int = 40) -> int:
    """Set every BatchNormalization layer's moving mean/variance to the average of its batch
    statistics over up to `max_batches` batches of `inputs` (arrays by input name, drawn in a fixed
    permutation). Returns the number of batches used (0 when the model has no BatchNorm)."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    norms = [layer for layer in model.submodules if isinstance(layer, keras.layers.BatchNormalization)]
    count_rows = len(next(iter(inputs.values()))) if inputs else 0
    if not norms or count_rows == 0:
        return 0
    momenta = [layer.momentum for layer in norms]
    count = min(max_batches, -(-count_rows // batch_size))
    order = np.random.default_rng(0).permutation(count_rows)
    try:
        for k in range(count):
            for layer in norms:  # moving = moving·m + batch·(1−m) with m = k/(k+1): the running mean of batch statistics
                layer.momentum = k / (k + 1)
            rows = np.sort(order[k * batch_size : (k + 1) * batch_size])
            model({name: array[rows] for name, array in inputs.items()}, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return count
