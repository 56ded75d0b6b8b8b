"""Split interactive segmentation: an image encoder (RGB only) run once per photo and a light click
decoder run per tap, as MediaPipe's interactive segmenter v2 and SAM split them.

- Encoder: MobileNetV2 inverted residuals to 1/16 (output stride 16; our blocks, or Keras'
  MobileNetV2 layers so that ImageNet or locally saved weights initialize it), a dilated context
  block, the image half of every decoder level's first layer (a linear 1×1 projection), and
  unit-norm embeddings at 1/8 and 1/16 for click similarity. It never sees a click, so an app runs
  it once per photo and keeps its outputs.
- Decoder: per tap, the clicks' prototypes (mean embedding inside a disk around the positive and
  the negative clicks) are compared with every position's embedding; the similarity maps, the
  click distance maps (average-pooled) and the encoder features are fused at 1/16, refined with the
  features at 1/8, 1/4 (and 1/2) (SharpMask-style), plus the click prior of the fusion design,
  and the logits at the finest level are upsampled bilinearly.

Every per-tap op but the final upsampling and sigmoid runs at the finest decoder level or
coarser: the click maps are averaged to that level once and then pooled ×2 per level. The
prototype needs no division: the disk has a fixed radius, so its mass is constant (πr²/3 away
from the borders) and the average pooling's sum is rescaled by a constant. With no click of a
polarity its similarity map is exactly 0 (no 0/0 in fp16).
Stock tf_keras layers only (safe-mode loading, native conversion on both targets)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from mobilekit.core.tf import tf_and_keras
from mobilekit.families.segmentation.clicks import CLICK_TRUNCATE
from mobilekit.families.segmentation.network import CLICK_PRIOR, click_prior_logit, click_pyramid
from mobilekit.nn.blocks import conv_bn, inverted_residual, separable_bn

if TYPE_CHECKING:
    from mobilekit.families.segmentation.config import SplitPreset

tf, keras = tf_and_keras()
layers = keras.layers

LEVELS = (16, 8, 4, 2)  # decoder levels, coarse to fine; a preset's `decoder` widths use the first len(decoder)
EMBED_SCALES = (8, 16)  # unit-norm embeddings for click similarity
PROTOTYPE_RADIUS = 0.05  # share of min(H, W) (at least MIN_PROTOTYPE_RADIUS px): disk the click prototypes average over
MIN_PROTOTYPE_RADIUS = 6.0


def encoder_outputs(levels: int) -> tuple[str, ...]:
    """What the encoder module returns for a decoder of `levels` levels, finest features first."""
    return (*(f"enc{s}" for s in reversed(LEVELS[:levels])), *(f"embed{s}" for s in EMBED_SCALES))


# Keras' MobileNetV2 layers whose outputs are the last features at 1/2 .. 1/16 (its 1/32 part is not built)
MOBILENET_V2_FEATURES = {2: "expanded_conv_project_BN", 4: "block_2_add", 8: "block_5_add", 16: "block_12_add"}


def _blocks_backbone(image, preset: "SplitPreset") -> dict:
    x = conv_bn(image, preset.stem, 3, "enc_stem", stride=2)
    stride, by_stride = 2, {2: x}
    for stage, (expansion, filters, repeats, first_stride) in enumerate(preset.stages, start=1):
        for block in range(repeats):
            x = inverted_residual(x, expansion, filters, first_stride if block == 0 else 1, f"enc{stage}_{block}")
        stride *= first_stride
        by_stride[stride] = x
    return by_stride


def _mobilenet_v2_backbone(image, preset: "SplitPreset") -> dict:
    """Keras' MobileNetV2 (its layer names, so its ImageNet or saved weights load by name) to 1/16;
    it expects pixels in [-1, 1]."""
    scaled = layers.Rescaling(2.0, offset=-1.0, name="enc_mnv2_scale")(image)
    base = keras.applications.MobileNetV2(input_tensor=scaled, include_top=False, weights=None, alpha=preset.alpha)
    return {s: base.get_layer(name).output for s, name in MOBILENET_V2_FEATURES.items()}


def load_pretrained_backbone(model, preset: "SplitPreset", weights: str) -> int:
    """Copy a MobileNetV2's weights (`weights`: "imagenet" or an .h5 file) into `model`'s layers of
    the same names; returns how many layers were set."""
    height, width = (int(d) for d in model.get_layer("image").output.shape[1:3])
    reference = keras.applications.MobileNetV2(input_shape=(height, width, 3), include_top=False, alpha=preset.alpha,
                                               weights=weights)
    ours = {layer.name: layer for layer in model.layers}
    count = 0
    for layer in reference.layers:
        if layer.weights and layer.name in ours:
            ours[layer.name].set_weights(layer.get_weights())
            count += 1
    return count


def build_encoder(image, preset: "SplitPreset") -> dict:
    """Features at the decoder's levels (1/16 with dilated context) and unit-norm embeddings at 1/8 and 1/16."""
    by_stride = (_mobilenet_v2_backbone if preset.backbone == "mobilenet_v2" else _blocks_backbone)(image, preset)
    if not {4, 8, 16} <= set(by_stride) or max(by_stride) != 16:
        raise ValueError(f"a split preset's stages must reach strides 4, 8 and 16 (and no further); got {sorted(by_stride)}")
    context = separable_bn(by_stride[16], int(by_stride[16].shape[-1]), "enc_context", dilation=2)
    by_stride[16] = layers.Add(name="enc_context_add")([by_stride[16], context])
    # the image half of each decoder level's first (linear) layer, computed here once per photo
    out = {f"enc{s}": layers.Conv2D(width, 1, use_bias=False, name=f"enc{s}_proj")(by_stride[s])
           for s, width in zip(LEVELS, preset.decoder)}
    for s in EMBED_SCALES:
        embed = layers.Conv2D(preset.embed, 1, name=f"embed{s}_proj")(by_stride[s])
        out[f"embed{s}"] = layers.UnitNormalization(name=f"embed{s}_norm")(embed)
    return {name: layers.Activation("linear", name=name)(value) for name, value in out.items()}


def pooled_pyramid(maps, finest: int, name: str) -> dict[int, object]:
    """`maps` averaged over s×s blocks for s = `finest` .. 16, each coarser level pooled ×2 from the
    one below it: the same averages as pooling each from full resolution (blocks nest), at a
    fraction of the work."""
    pyramid = {finest: click_pyramid(maps, (finest,), prefix=f"{name}_from1")[finest]}
    s = finest
    while s < 16:
        s *= 2
        pyramid[s] = click_pyramid(pyramid[s // 2], (2,), prefix=f"{name}_{s}_from{s // 2}")[2]
    return pyramid


def prototype_disks(clicks4, height: int, width: int):
    """(N, H/4, W/4, 2) cone weights relu(1 - d / r) around the positive / negative clicks, from the
    click maps averaged at 1/4 (so `d` is a 4×4 block's mean distance), and the disk's mass in
    full-resolution pixels."""
    radius = max(PROTOTYPE_RADIUS * min(height, width), MIN_PROTOTYPE_RADIUS)
    disks = layers.DepthwiseConv2D(1, depthwise_initializer=keras.initializers.Constant(-CLICK_TRUNCATE / radius),
                                   bias_initializer=keras.initializers.Constant(1.0), trainable=False, name="proto_disk")(clicks4)
    return layers.ReLU(name="proto_disk_relu")(disks), math.pi * radius * radius / 3.0


def click_similarity(embed, pooled, disk_mass: float, scale: int, name: str):
    """(N, h, w, 2): cosine-like similarity of each position's embedding with the mean embedding
    inside the positive (channel 0) and negative (channel 1) disks (`pooled`: at 1/`scale`)."""
    h, w = (int(d) for d in embed.shape[1:3])
    maps = []
    for channel, polarity in enumerate(("pos", "neg")):
        pick = np.zeros((1, 1, 2, 1), np.float32)
        pick[0, 0, channel, 0] = 1.0
        weight = layers.Conv2D(1, 1, use_bias=False, trainable=False, kernel_initializer=keras.initializers.Constant(pick),
                               name=f"{name}_{polarity}_weight")(pooled)
        prototype = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_{polarity}_proto")(
            layers.Multiply(name=f"{name}_{polarity}_weighted")([embed, weight]))
        # pooled disk mass is disk_mass / scale² per image, spread over h·w positions
        to_mean = (h * w) / (disk_mass / (scale * scale))
        maps.append(layers.Conv2D(1, 1, use_bias=False, trainable=False, kernel_initializer=keras.initializers.Constant(to_mean),
                                  name=f"{name}_{polarity}_dot")(layers.Multiply(name=f"{name}_{polarity}_match")([embed, prototype])))
    return layers.Concatenate(name=name)(maps)


def _merge(parts: list, name: str):
    """Sum of linear projections → BatchNorm → ReLU6: a 1×1 convolution over their concatenation,
    split so that each part is projected where it is cheapest (the image part in the encoder)."""
    x = layers.Add(name=f"{name}_sum")(parts) if len(parts) > 1 else parts[0]
    return layers.ReLU(6.0, name=f"{name}_relu")(layers.BatchNormalization(name=f"{name}_bn")(x))


def _project(x, filters: int, name: str):
    return layers.Conv2D(filters, 1, use_bias=False, name=name)(x)


def build_decoder(features: dict, clicks, height: int, width: int, preset: "SplitPreset"):
    """Mask probability (N, H, W, 1) from the encoder outputs and the click maps.

    Per level: the coarser level's features are projected *before* their ×2 bilinear upsampling
    (a 1×1 convolution commutes with it), summed with the encoder's projection and the clicks'
    (`_merge`), then one separable 3×3 fuses them, so the costly fine levels run few channels."""
    levels = LEVELS[:len(preset.decoder)]
    pyramid = pooled_pyramid(clicks, levels[-1], "clicks")
    disks, mass = prototype_disks(pyramid[4], height, width)
    disk_pyramid = {4: disks}
    for s in EMBED_SCALES:  # 1/8, then 1/16, each pooled ×2 from the level below
        disk_pyramid[s] = click_pyramid(disk_pyramid[s // 2], (2,), prefix=f"disks_{s}_from{s // 2}")[2]
    sims = {s: click_similarity(features[f"embed{s}"], disk_pyramid[s], mass, s, f"sim{s}") for s in EMBED_SCALES}

    def click_part(s: int, filters: int):
        extra = [pyramid[s], sims[s]] if s in sims else [pyramid[s]]
        return _project(layers.Concatenate(name=f"dec{s}_clicks_in")(extra) if len(extra) > 1 else extra[0], filters, f"dec{s}_clicks")

    x = _merge([features["enc16"], click_part(16, preset.decoder[0])], "dec16_reduce")
    x = separable_bn(x, preset.decoder[0], "dec16_ctx1", dilation=2)
    x = separable_bn(x, preset.decoder[0], "dec16_ctx2", dilation=4)
    for s, width_s in zip(levels[1:], preset.decoder[1:]):
        top = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{s * 2}_up")(_project(x, width_s, f"dec{s}_top"))
        x = _merge([top, features[f"enc{s}"], click_part(s, width_s)], f"dec{s}_merge")
        x = separable_bn(x, width_s, f"dec{s}_fuse")
    logit = layers.Conv2D(1, 1, name="dec_logit")(x)
    if CLICK_PRIOR:  # at the finest level, from its pooled click maps (mean distances, still in input pixels)
        prior = click_prior_logit(pyramid[levels[-1]], CLICK_PRIOR["radius"] * min(height, width), CLICK_PRIOR["weight"])
        logit = layers.Add(name="logit_clicks")([logit, prior])
    logit = layers.UpSampling2D(levels[-1], interpolation="bilinear", name="dec_logit_up")(logit)
    return layers.Activation("sigmoid", name="mask")(logit)


def build_split_net(height: int, width: int, preset: "SplitPreset"):
    """The end-to-end model (image, clicks) -> mask; `split_modules` cuts it into encoder and decoder."""
    image = keras.Input((height, width, 3), name="image")
    clicks = keras.Input((height, width, 2), name="clicks")
    features = build_encoder(image, preset)
    return keras.Model([image, clicks], build_decoder(features, clicks, height, width, preset), name="interactive_segmentation_split")


def split_modules(model):
    """(encoder, decoder) sharing the trained layers: image -> `encoder_outputs`; those + clicks -> mask."""
    from mobilekit.nn.subgraph import head_model

    names = [n for n in encoder_outputs(len(LEVELS)) if n in {layer.name for layer in model.layers}]
    encoder = keras.Model(model.get_layer("image").output, {n: model.get_layer(n).output for n in names}, name="encoder")
    return encoder, head_model(model, names, ["mask"], "decoder")
