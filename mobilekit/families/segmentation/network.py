"""Interactive segmentation network: SqueezeNet fire-module encoder (Iandola et al. 2016) and
SharpMask refinement modules (Pinheiro et al. 2016) back to full resolution.

The click maps enter at the input, again (average-pooled) at every encoder stage and refinement
module, and once more as a direct "click prior" on the output logit; without the later entries the
model largely ignored corrective (negative) clicks on a similar-looking neighbour.

Built only from stock tf_keras layers, so saved models load with `safe_mode=True` and every
op has a native Core ML / TFLite conversion."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from mobilekit.core.tf import tf_and_keras
from mobilekit.families.segmentation.clicks import CLICK_TRUNCATE  # the click maps are distances (px) / CLICK_TRUNCATE

if TYPE_CHECKING:
    from mobilekit.families.segmentation.config import SegmentationPreset

tf, keras = tf_and_keras()
layers = keras.layers

# Encoder stages and refinement modules at these 1/scale resolutions also get the click maps,
# average-pooled; () = the input only. (Refinement modules only: about as good on NoC over seeds
# 7-9, but IoU 0.853 instead of 0.871 on the default seed 7.)
CLICK_SCALES = (2, 4, 8, 16)
# Click prior: inside a small disk around each click the output logit is pushed by
# weight * relu(1 - distance / radius), + for positive and - for negative clicks (both trainable),
# so a click always flips the pixels under it and the evaluation protocol cannot keep clicking
# the same unchanged spot. radius is a share of min(H, W); None = off.
CLICK_PRIOR: Mapping[str, float] | None = {"radius": 0.04, "weight": 8.0}


def conv(x, filters: int, kernel: int, name: str, stride: int = 1, dilation: int = 1):
    """Conv → BatchNorm → ReLU (BatchNorm folds into the conv in both converters)."""
    x = layers.Conv2D(filters, kernel, strides=stride, dilation_rate=dilation, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def fire(x, squeeze: int, expand: int, name: str):
    """Fire module: 1×1 squeeze, then parallel 1×1 and 3×3 expands, concatenated."""
    s = conv(x, squeeze, 1, f"{name}_squeeze")
    return layers.Concatenate(name=f"{name}_concat")([conv(s, expand, 1, f"{name}_e1"), conv(s, expand, 3, f"{name}_e3")])


def refine(top, skip, channels: int, name: str, clicks=None):
    """SharpMask refinement: 3×3-reduce the skip features (with the click maps at that scale, when
    given) and the top-down mask features, merge them, and upsample ×2 (bilinear)."""
    skip_r = conv(with_clicks(skip, clicks, f"{name}_skip_clicks"), channels, 3, f"{name}_skip")
    top_r = conv(top, channels, 3, f"{name}_top")
    merged = conv(layers.Concatenate(name=f"{name}_merge")([top_r, skip_r]), channels, 3, f"{name}_fuse")
    return layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(merged)


def click_pyramid(clicks, scales: tuple[int, ...], prefix: str = "clicks") -> dict[int, Any]:
    """The click maps averaged over s×s blocks (1/s resolution), keyed by scale s.

    A frozen depthwise convolution with weights 1/s² and stride s, not AveragePooling2D: the two
    compute the same (image sizes are multiples of 16), but TFLite's full-integer quantizer
    requires an average pool's output to share its input's scale, and the clicks input's scale is
    fixed, so an AveragePooling2D on it fails int8 conversion; a convolution gets its own scale."""
    pyramid = {}
    for s in scales:
        pool = layers.DepthwiseConv2D(s, strides=s, use_bias=False, trainable=False, name=f"{prefix}_{s}",
                                      depthwise_initializer=keras.initializers.Constant(1.0 / (s * s)))
        pyramid[s] = pool(clicks)
    return pyramid


def with_clicks(x, clicks, name: str):
    """`x` with the click maps of its resolution appended as channels (`x` itself when None)."""
    return x if clicks is None else layers.Concatenate(name=name)([x, clicks])


def click_prior_logit(clicks, radius_px: float, weight: float):
    """Logit offset (N, H, W, 1): +weight at a positive click, -weight at a negative one, fading
    linearly to 0 at `radius_px`."""
    disks = layers.DepthwiseConv2D(1, depthwise_initializer=keras.initializers.Constant(-CLICK_TRUNCATE / radius_px),
                                   bias_initializer=keras.initializers.Constant(1.0), name="click_disk")(clicks)
    disks = layers.ReLU(name="click_disk_relu")(disks)
    return layers.Conv2D(1, 1, use_bias=False, kernel_initializer=keras.initializers.Constant([weight, -weight]),
                         name="click_prior")(disks)


def build_segmentation_net(height: int, width: int, preset: "SegmentationPreset"):
    image = keras.Input((height, width, 3), name="image")
    clicks = keras.Input((height, width, 2), name="clicks")
    x = layers.Concatenate(name="rgb_clicks")([image, clicks])
    pyramid = click_pyramid(clicks, CLICK_SCALES)

    skips = []
    x = conv(x, preset.stem, 3, "stem", stride=2)  # H/2
    skips.append(x)
    for stage, (squeeze, expand, repeats) in enumerate(preset.stages, start=1):
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{stage}")(x)  # H/4, H/8, H/16
        x = with_clicks(x, pyramid.get(2 ** (stage + 1)), f"stage{stage}_clicks")
        for r in range(repeats):
            x = fire(x, squeeze, expand, f"fire{stage}_{r}")
        skips.append(x)
    bottom = skips.pop()
    context = conv(bottom, preset.context, 3, "context", dilation=2)

    top = conv(context, preset.refine[0], 3, "coarse")
    top = refine(top, bottom, preset.refine[0], "refine16", pyramid.get(16))  # -> H/8
    for skip, channels, scale in zip(reversed(skips), preset.refine[1:], (8, 4, 2)):
        top = refine(top, skip, channels, f"refine{scale}", pyramid.get(scale))  # -> H/4, H/2, H
    head = conv(layers.Concatenate(name="full_res_merge")([top, image, clicks]), preset.head, 3, "head")
    logit = layers.Conv2D(1, 1, name="logit")(head)
    if CLICK_PRIOR:
        prior = click_prior_logit(clicks, CLICK_PRIOR["radius"] * min(height, width), CLICK_PRIOR["weight"])
        logit = layers.Add(name="logit_clicks")([logit, prior])
    mask = layers.Activation("sigmoid", name="mask")(logit)
    return keras.Model([image, clicks], mask, name="interactive_segmentation")
