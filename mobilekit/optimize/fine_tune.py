"""Fine-tuning shared by the training-time passes (prune, cluster, QAT)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mobilekit.core.config import FineTuneConfig
from mobilekit.core.family import Split
from mobilekit.optimize.coreml import compressible


def tfmot():
    """tensorflow-model-optimization (Keras 2 API only: `import mobilekit` set TF_USE_LEGACY_KERAS=1)."""
    import tensorflow_model_optimization as mot

    return mot


def require_keras2(model) -> None:
    """tfmot wraps tf_keras layers only; Keras 3 models get a clear refusal, not a traceback."""
    from mobilekit.core.errors import InputError

    if not type(model).__module__.startswith("tf_keras"):
        raise InputError("training-time optimization (tensorflow-model-optimization) needs a tf_keras (Keras 2) model; "
                         f"got {type(model).__module__}.{type(model).__name__}. Re-save the model with tf_keras, or use "
                         "post-training compression (mobilekit optimize quantize).")


def pristine_copy(model):
    """A clone with the same weights. tfmot wrappers share and extend the variables of the layers
    they wrap, so every pass works on its own copy and the model it was given stays as it was."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone




def wrap_large_kernels(model, wrap):
    """Clone `model` with `wrap(layer)` applied to conv / dense layers whose kernels are
    `compressible` (more than 2048 values). Small layers (the 1×1 output conv, the stem) cost almost no bytes and are the
    most sensitive: pruning half of the output conv's 16 weights alone takes IoU from 0.87 to 0."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()

    def clone(layer):
        kernel = getattr(layer, "kernel", None)
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and kernel is not None and compressible(int(np.prod(kernel.shape))):
            return wrap(layer)
        return layer

    return keras.models.clone_model(model, clone_function=clone)


def steps_per_epoch(split: Split, batch_size: int) -> int:
    return -(-len(split) // batch_size)


def fine_tune(model, split: Split, loss: Any, settings: FineTuneConfig, batch_size: int, seed: int,
              callbacks: Sequence[Any] = ()) -> list[float]:
    """Compile with Adam at the pass's learning rate and fit `fine_tune_epochs` epochs; the loss history."""
    from mobilekit.core.tf import seed_everything, tf_and_keras

    _, keras = tf_and_keras()
    seed_everything(seed)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=loss)
    if settings.fine_tune_epochs == 0:
        return []
    history = model.fit(split.inputs, split.targets, batch_size=batch_size, epochs=settings.fine_tune_epochs,
                        shuffle=True, verbose=0, callbacks=list(callbacks))
    return [float(v) for v in history.history["loss"]]


def recalibrate_batchnorm(model, split: Split, batch_size: int, max_batches: int = 40) -> int:
    """Re-estimate BatchNorm statistics on the split's training inputs after a pass: pruning and
    clustering change kernels in jumps while fine-tuning, and the moving averages trail them."""
    from mobilekit.nn.batchnorm import recalibrate_batchnorm as recalibrate

    return recalibrate(model, split.inputs, batch_size, max_batches)
