"""The single place TensorFlow / Keras 2 are imported from, with determinism switched on."""
from __future__ import annotations

import os

import mobilekit  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def tf_and_keras():
    """Return (tensorflow, tf_keras). tf_keras is used so tensorflow-model-optimization works."""
    import tensorflow as tf
    import tf_keras

    return tf, tf_keras


def seed_everything(seed: int) -> None:
    """Same seed -> same weights: seeds Python, NumPy and TF, and makes TF ops deterministic.

    Op determinism alone leaves one race on CPU: Grappler's dependency optimizer drops the identity
    between a shared feature and its consumers and its arithmetic optimizer merges the gradient sums
    into one AddN of three or more inputs, which sums in the order of whichever input buffer it can
    reuse first (a timing race), so a feature read by several heads trained differently run to run.
    Those two rewrites are switched off; training is no slower without them."""
    tf, keras = tf_and_keras()
    os.environ["PYTHONHASHSEED"] = str(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False, "dependency_optimization": False})
