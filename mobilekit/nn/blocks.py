"""Mobile convolution blocks shared by the families' networks: Conv/depthwise + BatchNorm + ReLU6
and MobileNetV2's inverted residual (Sandler et al. 2018). Stock tf_keras layers only, so every
block has a native Core ML and TFLite conversion and BatchNorm folds into the convolutions."""
from __future__ import annotations

from mobilekit.core.tf import tf_and_keras

tf, keras = tf_and_keras()
layers = keras.layers


def conv_bn(x, filters: int, kernel: int, name: str, stride: int = 1, act: bool = True):
    """Conv → BatchNorm (→ ReLU6)."""
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x) if act else x


def depthwise_bn(x, kernel: int, name: str, stride: int = 1, dilation: int = 1):
    """Depthwise conv → BatchNorm → ReLU6."""
    x = layers.DepthwiseConv2D(kernel, strides=stride, dilation_rate=dilation, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def separable_bn(x, filters: int, name: str, kernel: int = 3, dilation: int = 1):
    """Depthwise k×k → pointwise 1×1, each with BatchNorm + ReLU6 (a cheap 3×3 convolution)."""
    return conv_bn(depthwise_bn(x, kernel, f"{name}_dw", dilation=dilation), filters, 1, f"{name}_pw")


def inverted_residual(x, expansion: int, filters: int, stride: int, name: str, dilation: int = 1):
    """Expand (1×1) → depthwise 3×3 → linear projection (1×1), residual when shapes match."""
    inputs = x
    channels = int(x.shape[-1])
    if expansion != 1:
        x = conv_bn(x, channels * expansion, 1, f"{name}_expand")
    x = depthwise_bn(x, 3, f"{name}_dw", stride, dilation)
    x = conv_bn(x, filters, 1, f"{name}_project", act=False)
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x
