"""Training losses (tf_keras)."""
from __future__ import annotations

from mobilekit.core.tf import tf_and_keras


def bce_dice_loss(y_true, y_pred):
    """Binary cross-entropy plus soft Dice: BCE for calibrated probabilities, Dice for small objects."""
    tf, keras = tf_and_keras()
    bce = keras.losses.binary_crossentropy(y_true, y_pred)
    axes = (1, 2, 3)
    intersection = tf.reduce_sum(y_true * y_pred, axis=axes)
    dice = 1.0 - (2.0 * intersection + 1.0) / (tf.reduce_sum(y_true, axis=axes) + tf.reduce_sum(y_pred, axis=axes) + 1.0)
    return tf.reduce_mean(bce, axis=(1, 2)) + dice
