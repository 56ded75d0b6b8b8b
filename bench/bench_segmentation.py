"""Benchmark: LiteRT latency of interactive segmentation at equal input size, ours against a
DeepLabV3-MobileNetV2-lite built here, and the per-tap cost of the split preset.

- ours: the `small` (early fusion: every tap reruns the whole network) and `split-small` (image
  encoder once per photo + click decoder per tap) presets, end to end;
- peer: DeepLabV3-MobileNetV2-lite, the mobile DeepLabV3 of the MobileNetV2 paper (Sandler et
  al. 2018, §6.3): MobileNetV2 (width 1.0) at output stride 16 (the last stride-2 stage dilated
  instead) and the simplified ASPP head (1×1 conv branch + image-pooling branch, 256 channels),
  one logit upsampled ×16 bilinearly; its input is RGB + the 2 click maps (5 channels), as ours;
- per tap: the split preset's decoder on the encoder's cached outputs, against its whole model.

fp32 TFLite, LiteRT with XNNPACK on 2 threads, interleaved round-robin in one run, medians.
Weights are untrained: latency does not depend on their values.

    PYTHONPATH=. python bench/bench_segmentation.py [--size 320] [--repeats 30]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import mobilekit  # noqa: E402,F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from bench.litert_timing import interleaved_medians, runner, to_tflite  # noqa: E402

# MobileNetV2 (expansion, channels, repeats, stride); the stride-2 stage at 1/32 runs at stride 1
# with dilation 2 instead (output stride 16, as DeepLabV3 uses it)
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def deeplab_v3_mobilenet_v2_lite(size: int):
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.nn.blocks import conv_bn, inverted_residual

    _, keras = tf_and_keras()
    layers = keras.layers
    image = keras.Input((size, size, 3), name="image")
    clicks = keras.Input((size, size, 2), name="clicks")
    x = conv_bn(layers.Concatenate()([image, clicks]), 32, 3, "stem", stride=2)
    stride, dilation = 2, 1
    for stage, (expansion, channels, repeats, first_stride) in enumerate(MOBILENET_V2):
        for block in range(repeats):
            s = first_stride if block == 0 else 1
            if s == 2 and stride == 16:  # output stride 16: dilate instead of striding
                s, dilation = 1, 2
            x = inverted_residual(x, expansion, channels, s, f"mnv2_{stage}_{block}", dilation=dilation)
            stride *= s
    branch = conv_bn(x, 256, 1, "aspp_1x1")
    pooled = conv_bn(layers.GlobalAveragePooling2D(keepdims=True)(x), 256, 1, "aspp_pool")
    pooled = layers.UpSampling2D(size // 16, interpolation="bilinear")(pooled)
    x = conv_bn(layers.Concatenate()([branch, pooled]), 256, 1, "aspp_project")
    logit = layers.UpSampling2D(16, interpolation="bilinear")(layers.Conv2D(1, 1, name="logit")(x))
    return keras.Model([image, clicks], layers.Activation("sigmoid", name="mask")(logit), name="deeplabv3_mnv2_lite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from mobilekit.core.tf import seed_everything
    from mobilekit.families.segmentation.family import PRESETS
    from mobilekit.families.segmentation.network import build_segmentation_net
    from mobilekit.families.segmentation.network_split import build_split_net, split_modules

    seed_everything(0)
    fusion = build_segmentation_net(args.size, args.size, PRESETS["small"])
    split = build_split_net(args.size, args.size, PRESETS["split-small"])
    encoder, decoder = split_modules(split)
    models = {"fusion small": fusion, "split small": split, "deeplabv3-mnv2-lite": deeplab_v3_mobilenet_v2_lite(args.size),
              "split encoder": encoder, "split decoder": decoder}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: to_tflite(model, Path(tmp) / f"{name.replace(' ', '_')}.tflite") for name, model in models.items()}
        runners = {name: runner(path, args.threads) for name, path in paths.items()}
        enc_run, enc_feed = runners["split encoder"]
        features = enc_run(**enc_feed)  # the decoder runs on the encoder's real outputs (cached per photo)
        dec_run, dec_feed = runners["split decoder"]
        runners["split decoder"] = (dec_run, {name: features.get(name, value) for name, value in dec_feed.items()})
        median = interleaved_medians(runners, args.repeats)
        sizes = {name: path.stat().st_size for name, path in paths.items()}
    print(f"LiteRT fp32, XNNPACK, {args.threads} threads, {args.size}×{args.size}, median of {args.repeats} interleaved runs")
    print(f"{'model':22} {'ms':>8} {'params':>10} {'bytes':>11}")
    for name, model in models.items():
        print(f"{name:22} {median[name] * 1e3:8.2f} {model.count_params():10d} {sizes[name]:11d}")
    peer = median["deeplabv3-mnv2-lite"]
    print(f"fusion small / DeepLabV3-MobileNetV2-lite: {median['fusion small'] / peer:.2f}x; "
          f"split small / DeepLabV3-MobileNetV2-lite: {median['split small'] / peer:.2f}x")
    print(f"per tap: split decoder on cached features / split end to end: {median['split decoder'] / median['split small']:.2f}x; "
          f"/ fusion small (which reruns whole per tap): {median['split decoder'] / median['fusion small']:.2f}x")


if __name__ == "__main__":
    main()
