"""mobilekit's own Keras layers for ops Core ML and TFLite cannot convert directly.

`Erosion2D`, `Dilation2D`, `ResizeBicubic` and `ResizeArea` call the TF ops
(`tf.nn.erosion2d` / `tf.nn.dilation2d` with SAME padding and unit strides,
`tf.image.resize(..., "bicubic" | "area")`), so training and the TensorFlow reference are plain TF.

Why layers rather than a graph rewrite: a decomposition has to be emitted *instead of* the op,
and TF offers no supported way to splice ops into an already traced FuncGraph. A layer knows its
op's parameters exactly (no constant folding or pattern matching over Neg/ReverseV2 chains) and can
simply emit different ops while the converter traces it. So `call` asks the active *lowering*
(`mobilekit.nn.lowering`, set by `mobilekit.convert.ops.lowering` only while a converter traces the serving function for one
target) which handler of the (target, op type) chain applies; an exact decomposition is emitted in
place of the op, otherwise the TF op is emitted and the converter routes it to a kernel (Core ML
custom layer / TFLite Select TF op). Outside conversion the layers always run the TF op.
The same TF ops written without these layers (e.g. a raw `tf.nn.erosion2d` in a functional
model) are still found by the graph-level coverage and can take the kernel routes, not the
decompositions.

Registered with `tf_keras.saving.register_keras_serializable(package="mobilekit")`, so saved models
name them `mobilekit>Erosion2D` etc. and load under the safe-mode policy of
`mobilekit.nn.loading` (which imports this module before loading).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mobilekit.nn.lowering import current_lowering
from mobilekit.nn.site import OpSite
from mobilekit.core.tf import tf_and_keras

tf, keras = tf_and_keras()

_UNIT = (1, 1, 1, 1)


def _pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


class _LoweredOpLayer(keras.layers.Layer):
    """Runs `tf_op`, or what the active lowering emits instead (see module docstring)."""

    op_type: str = ""

    def tf_op(self, x):
        raise NotImplementedError

    def op_site(self, x) -> OpSite:
        raise NotImplementedError

    def call(self, inputs):
        lowering = current_lowering()
        if lowering is not None:
            lowered = lowering.lower(self, inputs)
            if lowered is not None:
                return lowered
        return self.tf_op(inputs)

    def _site(self, x, attrs: dict, filt: np.ndarray | None = None) -> OpSite:
        return OpSite(op_type=self.op_type, node=tf.get_current_name_scope() or self.name, attrs=attrs,
                      input_shape=tuple(x.shape), filter=filt, layer=self.name)


class _Morphology(_LoweredOpLayer):
    op_type = "Dilation2D"
    erosion = False

    def __init__(self, kernel_size: int | Sequence[int] = 3, structuring_element=None, **kwargs):
        super().__init__(**kwargs)
        self.structuring_element = None if structuring_element is None else np.asarray(structuring_element, np.float32)
        if self.structuring_element is not None:
            if self.structuring_element.ndim != 3:
                raise ValueError(f"structuring_element must be (kh, kw, C), got shape {self.structuring_element.shape}")
            kernel_size = self.structuring_element.shape[:2]
        self.kernel_size = _pair(kernel_size, "kernel_size")

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if self.structuring_element is not None and self.structuring_element.shape[2] != channels:
            raise ValueError(f"{self.name}: structuring_element has {self.structuring_element.shape[2]} channels, input has {channels}")
        self._element = (self.structuring_element if self.structuring_element is not None
                         else np.zeros((*self.kernel_size, channels), np.float32))
        super().build(input_shape)

    def tf_op(self, x):
        op = tf.nn.erosion2d if self.erosion else tf.nn.dilation2d
        return op(x, tf.constant(self._element), strides=_UNIT, padding="SAME", data_format="NHWC", dilations=_UNIT)

    def op_site(self, x) -> OpSite:
        # What the TF op receives: erosion2d is -dilation2d(-x, reverse(f, [0, 1])).
        element = self._element[::-1, ::-1] if self.erosion else self._element
        return self._site(x, {"strides": _UNIT, "rates": _UNIT, "padding": "SAME", "erosion": self.erosion},
                          np.ascontiguousarray(element))

    def get_config(self):
        config = super().get_config()
        config["kernel_size"] = list(self.kernel_size)
        config["structuring_element"] = None if self.structuring_element is None else self.structuring_element.tolist()
        return config


@keras.saving.register_keras_serializable(package="mobilekit")
class Erosion2D(_Morphology):
    """`tf.nn.erosion2d`, SAME padding, unit strides and rates: a flat `kernel_size` window minimum
    (out-of-image pixels ignored), or a non-flat `structuring_element` (kh, kw, C). Shrinks masks."""

    erosion = True


@keras.saving.register_keras_serializable(package="mobilekit")
class Dilation2D(_Morphology):
    """`tf.nn.dilation2d`, SAME padding, unit strides and rates (flat window maximum by default)."""

    erosion = False


class _Resize(_LoweredOpLayer):
    method = ""

    def __init__(self, size: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.size = _pair(size, "size")

    def tf_op(self, x):
        return tf.image.resize(x, self.size, method=self.method)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape((input_shape[0], *self.size, input_shape[-1]))

    def get_config(self):
        config = super().get_config()
        config["size"] = list(self.size)
        return config


@keras.saving.register_keras_serializable(package="mobilekit")
class ResizeBicubic(_Resize):
    """`tf.image.resize(x, size, "bicubic")` (TF `ResizeBicubic`, half-pixel centres, no antialias)."""

    op_type = "ResizeBicubic"
    method = "bicubic"

    def op_site(self, x) -> OpSite:
        return self._site(x, {"size": self.size, "align_corners": False, "half_pixel_centers": True})


@keras.saving.register_keras_serializable(package="mobilekit")
class ResizeArea(_Resize):
    """`tf.image.resize(x, size, "area")` (TF `ResizeArea`, align_corners False)."""

    op_type = "ResizeArea"
    method = "area"

    def op_site(self, x) -> OpSite:
        return self._site(x, {"size": self.size, "align_corners": False})



@keras.saving.register_keras_serializable(package="mobilekit")
class PartialConv2D(keras.layers.Layer):
    """Partial convolution (Liu et al. 2018) on `[x, mask]` (mask: 1 channel, 1 = valid) → `[out, new_mask]`.

    out = W·(X⊙M)·(sum(1)/sum(M)) + b where the window holds any valid pixel, else 0; the new mask
    is 1 wherever the window held a valid pixel. Written with convolutions, products, `maximum`,
    `minimum` and a division, which Core ML, TFLite and ONNX all convert natively."""

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, dilation_rate: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.dilation_rate = int(filters), int(kernel_size), int(strides), int(dilation_rate)
        self.window = float(self.kernel_size * self.kernel_size)

    def build(self, input_shape):
        channels = int(input_shape[0][-1])
        k = self.kernel_size
        self.kernel = self.add_weight(name="kernel", shape=(k, k, channels, self.filters), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.ones = tf.constant(np.ones((k, k, 1, 1), np.float32))
        super().build(input_shape)

    def _conv(self, x, kernel):
        return tf.nn.conv2d(x, kernel, strides=self.strides, padding="SAME", dilations=self.dilation_rate)

    def call(self, inputs):
        x, mask = inputs
        count = self._conv(mask, self.ones)  # valid pixels per window
        new_mask = tf.minimum(count, 1.0)
        ratio = self.window / tf.maximum(count, 1.0) * new_mask
        out = (self._conv(x * mask, self.kernel) * ratio + self.bias) * new_mask
        return [out, new_mask]

    def compute_output_shape(self, input_shape):
        x_shape = tf.TensorShape(input_shape[0])
        h, w = x_shape[1], x_shape[2]
        h = None if h is None else -(-h // self.strides)
        w = None if w is None else -(-w // self.strides)
        return [tf.TensorShape((x_shape[0], h, w, self.filters)), tf.TensorShape((x_shape[0], h, w, 1))]

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides, dilation_rate=self.dilation_rate)
        return config


@keras.saving.register_keras_serializable(package="mobilekit")
class PushPullFill(keras.layers.Layer):
    """A smooth fill of the unknown pixels from the known ones (pull-push over a 2× pyramid):
    `[image, valid] → fill`, equal to `image` where `valid` is 1.

    Pull: average-pool image·valid and valid `levels` times. Push, coarse to fine:
    fill = w·(Σ image·valid / Σ valid) + (1 − w)·bilinear-up(coarser fill), w = min(4·Σ valid, 1)
    (the share of known pixels under a cell decides how much it trusts itself). Then `relax`
    Jacobi sweeps at full resolution towards the harmonic (membrane) fill: unknown pixels take the
    3×3 mean of their neighbourhood (`avg_pool` SAME, padding excluded), known ones stay the image's.
    The pyramid's bilinear pushes leave cell-sized ramps that the sweeps smooth out; on real photos
    40 sweeps add 0.3-0.8 dB of hole PSNR over pull-push alone (and beat OpenCV's Telea and
    Navier-Stokes). Average pooling, bilinear resizes, products, `minimum`/`maximum` and a
    division: native on every target."""

    def __init__(self, levels: int, relax: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.levels = int(levels)
        self.relax = int(relax)
        if self.relax < 0:
            raise ValueError(f"relax must be >= 0 sweeps, got {relax}")

    def call(self, inputs):
        image, valid = inputs
        pyramid = [(image * valid, valid)]
        for _ in range(self.levels):
            num, den = pyramid[-1]
            pyramid.append((tf.nn.avg_pool2d(num, 2, 2, "VALID"), tf.nn.avg_pool2d(den, 2, 2, "VALID")))
        fill = None
        for num, den in reversed(pyramid):
            mean = num / tf.maximum(den, 1e-6)
            if fill is None:
                fill = mean
                continue
            weight = tf.minimum(den * 4.0, 1.0)
            up = tf.image.resize(fill, (int(num.shape[1]), int(num.shape[2])), method="bilinear")
            fill = weight * mean + (1.0 - weight) * up
        if self.relax:
            known, unknown = pyramid[0][0], 1.0 - valid  # image·valid, the pyramid's base
            for _ in range(self.relax):
                fill = known + unknown * tf.nn.avg_pool2d(fill, 3, 1, "SAME")
        return fill

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update(levels=self.levels, relax=self.relax)
        return config
