"""The models the conversion coverage matrix takes through every target: each `keras.applications`
architecture (random weights, small input) and a set of modern blocks, built in memory.

Applications are built with `weights=None`, `classes=10` and logits out (`classifier_activation=None`) at the smallest
input their builders accept (32×32; 75×75 for the Inception family and Xception), so even the
largest converts on a laptop; the ops and weights layout are those of the full model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from mobilekit.core.registry import Registry

SMALL_INPUT = 32
LARGER_INPUT = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}
CLASSES = 10


@dataclass(frozen=True)
class ZooEntry:
    name: str
    kind: str  # "application" | "block"
    build: Callable[[], Any]
    what: str  # one line: what the entry exercises


ZOO: Registry[ZooEntry] = Registry("coverage-matrix model")


def application_names() -> list[str]:
    """Every architecture `keras.applications` exports (read at run time from the installed Keras)."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    apps = keras.applications
    return sorted(n for n in dir(apps) if n[:1].isupper() and callable(getattr(apps, n)))


def _application(name: str) -> Callable[[], Any]:
    def build():
        from mobilekit.core.tf import tf_and_keras

        _, keras = tf_and_keras()
        size = LARGER_INPUT.get(name, SMALL_INPUT)
        return getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), classes=CLASSES,
                                                 classifier_activation=None)

    return build


# --------------------------------------------------------------------------- modern blocks


def _keras():
    from mobilekit.core.tf import tf_and_keras

    return tf_and_keras()


def _conv_stem(keras, size: int = 16, channels: int = 8):
    inp = keras.Input((size, size, 3), name="image")
    return inp, keras.layers.Conv2D(channels, 3, padding="same", name="stem")(inp)


def _block(name: str, what: str):
    def register(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def build():
            tf, keras = _keras()
            inp, x = _conv_stem(keras)
            return keras.Model(inp, fn(tf, keras, x), name=name.replace("-", "_"))

        ZOO.register(name, ZooEntry(name, "block", build, what))
        return fn

    return register


@_block("layer-norm", "LayerNormalization over channels")
def _layer_norm(tf, keras, x):
    return keras.layers.LayerNormalization(epsilon=1e-5)(x)


@_block("group-norm", "GroupNormalization, 4 groups")
def _group_norm(tf, keras, x):
    return keras.layers.GroupNormalization(groups=4, epsilon=1e-5)(x)


@_block("multi-head-attention", "MultiHeadAttention, 2 heads, over 16 tokens")
def _mha(tf, keras, x):
    tokens = keras.layers.Reshape((-1, 8))(keras.layers.Conv2D(8, 4, strides=4)(x))
    return keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(tokens, tokens)


@_block("vit-block", "ViT encoder block: patch embedding, pre-norm MHA + exact-GELU MLP, residuals")
def _vit(tf, keras, x):
    tokens = keras.layers.Reshape((-1, 16))(keras.layers.Conv2D(16, 4, strides=4, name="patches")(x))
    h = keras.layers.LayerNormalization(epsilon=1e-6)(tokens)
    tokens = tokens + keras.layers.MultiHeadAttention(num_heads=4, key_dim=4)(h, h)
    h = keras.layers.LayerNormalization(epsilon=1e-6)(tokens)
    h = keras.layers.Dense(32, activation=keras.activations.gelu)(h)
    tokens = tokens + keras.layers.Dense(16)(h)
    return keras.layers.GlobalAveragePooling1D()(keras.layers.LayerNormalization(epsilon=1e-6)(tokens))


@_block("separable-conv", "SeparableConv2D and DepthwiseConv2D (stride 2)")
def _separable(tf, keras, x):
    x = keras.layers.SeparableConv2D(16, 3, padding="same")(x)
    return keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)


@_block("transposed-conv", "Conv2DTranspose, stride 2, same and valid padding")
def _transposed(tf, keras, x):
    x = keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same")(x)
    return keras.layers.Conv2DTranspose(4, 2, strides=2, padding="valid")(x)


@_block("depth-to-space", "tf.nn.depth_to_space (pixel shuffle), block 2")
def _depth_to_space(tf, keras, x):
    return keras.layers.Lambda(lambda t: tf.nn.depth_to_space(t, 2), name="pixel_shuffle")(x)


@_block("resize-bilinear", "bilinear resize ×2 and to 24×24, half-pixel centres (keras Resizing)")
def _bilinear(tf, keras, x):
    x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
    return keras.layers.Resizing(24, 24, interpolation="bilinear")(x)


@_block("resize-bilinear-align-corners", "bilinear resize 16→31 with align_corners=True (tf.compat.v1)")
def _bilinear_aligned(tf, keras, x):
    return keras.layers.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, (31, 31), align_corners=True),
                               name="resize_align_corners")(x)


@_block("gelu-exact", "exact GELU, 0.5·x·erfc(-x/√2) (ConvNeXt, most transformer-style models)")
def _gelu_exact(tf, keras, x):
    return keras.layers.Activation(lambda t: keras.activations.gelu(t, approximate=False), name="gelu")(x)


@_block("gelu-tanh", "tanh-approximated GELU")
def _gelu_tanh(tf, keras, x):
    return keras.layers.Activation(lambda t: keras.activations.gelu(t, approximate=True), name="gelu_tanh")(x)


@_block("swish", "swish / SiLU, x·sigmoid(x)")
def _swish(tf, keras, x):
    return keras.layers.Activation("swish")(x)


@_block("hard-swish", "hard-swish, x·relu6(x + 3)/6 (MobileNetV3)")
def _hard_swish(tf, keras, x):
    return keras.layers.Multiply()([x, keras.layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)])


def register_applications() -> None:
    """Add every `keras.applications` architecture to ZOO (idempotent)."""
    for name in application_names():
        if name not in ZOO:
            ZOO.register(name, ZooEntry(name, "application", _application(name), "keras.applications"))


def entries() -> list[ZooEntry]:
    """Applications, then blocks, each alphabetical."""
    register_applications()
    items = [ZOO.get(n) for n in ZOO]
    return sorted((e for e in items if e.kind == "application"), key=lambda e: e.name) + [e for e in items if e.kind == "block"]
