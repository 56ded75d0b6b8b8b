"""Fine-tuning shared by the training-time passes (prune, cluster, QAT)."""
from __future__ import annotations

from typing import Any, Sequence

from mobilekit.core.config import FineTuneConfig
from mobilekit.models.base import Split


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
