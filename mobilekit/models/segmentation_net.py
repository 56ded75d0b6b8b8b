"""Interactive segmentation network: SqueezeNet fire-module encoder (Iandola et al. 2016) and
SharpMask refinement modules (Pinheiro et al. 2016) back to full resolution.

Built only from stock tf_keras layers, so saved models load with `safe_mode=True` and every
op has a native Core ML / TFLite conversion."""
from __future__ import annotations

from typing import Any, Mapping

from mobilekit.core.tf import tf_and_keras

tf, keras = tf_and_keras()
layers = keras.layers


def conv(x, filters: int, kernel: int, name: str, stride: int = 1, dilation: int = 1):
    """Conv → BatchNorm → ReLU (BatchNorm folds into the conv in both converters)."""
    x = layers.Conv2D(filters, kernel, strides=stride, dilation_rate=dilation, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def fire(x, squeeze: int, expand: int, name: str):
    """Fire module: 1×1 squeeze, then parallel 1×1 and 3×3 expands, concatenated."""
    s = conv(x, squeeze, 1, f"{name}_squeeze")
    return layers.Concatenate(name=f"{name}_concat")([conv(s, expand, 1, f"{name}_e1"), conv(s, expand, 3, f"{name}_e3")])


def refine(top, skip, channels: int, name: str):
    """SharpMask refinement: 3×3-reduce the skip features and the top-down mask features,
    merge them, and upsample ×2 (bilinear)."""
    skip_r = conv(skip, channels, 3, f"{name}_skip")
    top_r = conv(top, channels, 3, f"{name}_top")
    merged = conv(layers.Concatenate(name=f"{name}_merge")([top_r, skip_r]), channels, 3, f"{name}_fuse")
    return layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(merged)


def build_segmentation_net(height: int, width: int, preset: Mapping[str, Any]):
    image = keras.Input((height, width, 3), batch_size=1 if preset.get("fixed_batch") else None, name="image")
    clicks = keras.Input((height, width, 2), name="clicks")
    x = layers.Concatenate(name="rgb_clicks")([image, clicks])

    skips = []
    x = conv(x, preset["stem"], 3, "stem", stride=2)  # H/2
    skips.append(x)
    for stage, (squeeze, expand, repeats) in enumerate(preset["stages"], start=1):
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{stage}")(x)  # H/4, H/8, H/16
        for r in range(repeats):
            x = fire(x, squeeze, expand, f"fire{stage}_{r}")
        skips.append(x)
    bottom = skips.pop()
    context = conv(bottom, preset["context"], 3, "context", dilation=2)

    top = conv(context, preset["refine"][0], 3, "coarse")
    top = refine(top, bottom, preset["refine"][0], "refine16")  # -> H/8
    for skip, channels, scale in zip(reversed(skips), preset["refine"][1:], (8, 4, 2)):
        top = refine(top, skip, channels, f"refine{scale}")  # -> H/4, H/2, H
    head = conv(layers.Concatenate(name="full_res_merge")([top, image, clicks]), preset["head"], 3, "head")
    mask = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(head)
    return keras.Model([image, clicks], mask, name="interactive_segmentation")
