"""mobilekit: train, compress, convert and parity-check on-device vision models."""
import os as _os

# tensorflow-model-optimization works only with the Keras 2 API: make `tf.keras` mean `tf_keras`.
# Must happen before TensorFlow is imported anywhere in the process (tfmot needs tf.keras to be Keras 2).
_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
