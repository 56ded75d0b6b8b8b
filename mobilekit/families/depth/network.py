"""Portrait-depth network in the modular ("hydra") shape: one feature extractor whose multi-scale
features feed separately runnable heads.

- Extractor: MobileNetV2-style inverted residual blocks (Sandler et al. 2018): expand 1×1, 3×3
  depthwise, linear 1×1 projection, residual where shapes allow. Chosen over the fire modules of
  the segmentation family because depthwise blocks give the receptive field a depth model needs
  at a fraction of the multiply-adds, and they run well on both the Neural Engine and XNNPACK.
- Depth head: FastDepth's NNConv5 decoder (Wofk et al. 2019): stages of 5×5 depthwise + 1×1
  pointwise convolution and ×2 nearest-neighbour upsampling, with additive skip connections
  from the extractor; positive depth in metres through a softplus. Five stages as FastDepth, or
  (the `small` preset) four ending at 1/4 with the logits upsampled ×4 bilinearly: the stages at
  1/2 resolution were 70 % of the head's time.
- Portrait head: a lighter decoder on the same features to 1/4 resolution, upsampled bilinearly, giving
  a foreground-person probability.

Every op is a stock tf_keras layer with a native Core ML and TFLite conversion (BatchNorm folds
into the convolutions; nearest upsampling is exact on both, and the portrait head's bilinear ×4 is
half-pixel resize on both)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.blocks import conv_bn as _conv_bn, depthwise_bn as _depthwise_bn, inverted_residual
from mobilekit.nn.subgraph import head_model

if TYPE_CHECKING:
    from mobilekit.families.depth.config import DepthPreset

tf, keras = tf_and_keras()
layers = keras.layers

FEATURES = ("feat2", "feat4", "feat8", "feat16", "feat32")  # extractor outputs at 1/2 .. 1/32 resolution


def build_extractor(image, preset: "DepthPreset") -> dict:
    """Features at 1/2 .. 1/32 of the input resolution, named as in FEATURES."""
    x = _conv_bn(image, preset.stem, 3, "stem", stride=2)
    features = {"feat2": x}
    for stage, (expansion, filters, repeats, stride) in enumerate(preset.stages, start=1):
        for block in range(repeats):
            x = inverted_residual(x, expansion, filters, stride if block == 0 else 1, f"ir{stage}_{block}")
        if stride == 2:
            features[FEATURES[len(features)]] = x
    if list(features) != list(FEATURES):
        raise ValueError(f"the extractor preset must downsample 4 times after the stem; got {list(features)}")
    return {name: layers.Activation("linear", name=name)(value) for name, value in features.items()}


def _nnconv(x, filters: int, name: str):
    """FastDepth NNConv5 stage: 5×5 depthwise + 1×1 pointwise, then ×2 nearest-neighbour upsampling."""
    x = _depthwise_bn(x, 5, f"{name}_dw")
    x = _conv_bn(x, filters, 1, f"{name}_pw")
    return layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)


def _skip(x, skip, name: str):
    """Additive skip connection (FastDepth), projecting the skip to x's width when they differ."""
    if int(skip.shape[-1]) != int(x.shape[-1]):
        skip = _conv_bn(skip, int(x.shape[-1]), 1, f"{name}_proj")
    return layers.Add(name=f"{name}_add")([x, skip])


def build_depth_head(features: dict, preset: "DepthPreset"):
    """FastDepth's NNConv5 decoder from 1/32 up to the finest level `preset.depth_decoder` reaches
    (four widths: 1/2, then ×2 nearest to full resolution, as FastDepth; three: 1/4, then ×4 bilinear)."""
    x = features["feat32"]
    skips = ("feat16", "feat8", "feat4", "feat2")[:len(preset.depth_decoder)]
    for index, (skip_name, filters) in enumerate(zip(skips, preset.depth_decoder)):
        x = _skip(_nnconv(x, filters, f"depth_up{index}"), features[skip_name], f"depth_skip{index}")
    # the last NNConv5 stage with its 1×1 output convolution moved before the upsampling: a 1×1
    # convolution commutes with nearest-neighbour upsampling, so the function is FastDepth's, but one
    # channel is upsampled to full resolution instead of the stage's width
    last = len(preset.depth_decoder)
    x = _depthwise_bn(x, 5, f"depth_up{last}_dw")
    x = _conv_bn(x, preset.depth_decoder[-1], 1, f"depth_up{last}_pw")
    x = layers.Conv2D(1, 1, name="depth_logits")(x)
    if last == 4:
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"depth_up{last}_up")(x)  # back to full resolution
    else:  # ending at 1/4: nearest ×4 would leave 4×4 blocks, bilinear keeps the map smooth
        x = layers.UpSampling2D(4, interpolation="bilinear", name=f"depth_up{last}_up")(x)
    return layers.Activation("softplus", name="depth")(x)


def build_portrait_head(features: dict, preset: "DepthPreset"):
    x = _conv_bn(features["feat16"], preset.portrait_decoder[0], 1, "portrait_reduce")
    for index, (skip_name, filters) in enumerate(zip(("feat8", "feat4"), preset.portrait_decoder)):
        x = _skip(_nnconv(x, filters, f"portrait_up{index}"), features[skip_name], f"portrait_skip{index}")
    # logits at 1/4, brought to full resolution bilinearly: a person mask's shape is settled at 1/4,
    # and convolutions at 1/2 and full resolution would cost most of the head's time
    x = layers.Conv2D(1, 3, padding="same", name="portrait_logits")(x)
    x = layers.UpSampling2D(4, interpolation="bilinear", name="portrait_up")(x)
    return layers.Activation("sigmoid", name="portrait")(x)


def build_depth_net(height: int, width: int, preset: "DepthPreset"):
    """The end-to-end model: image -> {depth, portrait}."""
    image = keras.Input((height, width, 3), name="image")
    features = build_extractor(image, preset)
    return keras.Model(image, {"depth": build_depth_head(features, preset), "portrait": build_portrait_head(features, preset)},
                       name="portrait_depth")


def split_modules(model):
    """(extractor, depth head, portrait head) as separate models sharing the trained layers: the
    extractor maps image -> features; each head maps the features it uses -> its output."""
    present = {layer.name for layer in model.layers}
    used = [name for name in FEATURES if name in present]  # a feature no head reads is not in the graph
    extractor = keras.Model(model.input, {name: model.get_layer(name).output for name in used}, name="extractor")
    return extractor, head_model(model, used, ["depth"], "depth_head"), head_model(model, used, ["portrait"], "portrait_head")
