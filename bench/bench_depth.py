"""Benchmark: LiteRT latency of the depth family at 256×256 against a FastDepth-architecture peer
built here, and the per-head cost an app pays when the extractor's features are cached.

- ours: the `small` preset's end-to-end model (extractor + depth head + portrait head);
- peer: FastDepth (Wofk et al. 2019): MobileNet (v1, width 1.0) encoder + NNConv5 decoder
  (5×5 depthwise + pointwise, ×2 nearest upsampling, additive skips) + 1×1 conv, depth only;
- heads only: the depth and portrait heads run on the extractor's cached outputs, against the
  end-to-end model (the cost of each extra effect once a photo's features exist).

All are converted to fp32 TFLite and run by LiteRT with XNNPACK on 2 threads, interleaved
round-robin in one run (each repeat times every model once, so machine noise hits all alike);
medians are reported. Weights are untrained: latency does not depend on their values.

    PYTHONPATH=. python bench/bench_depth.py [--size 256] [--repeats 40]
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


def fastdepth(size: int):
    """FastDepth: MobileNet encoder, NNConv5 decoder with additive skips, 1×1 conv to depth."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    layers = keras.layers
    encoder = keras.applications.MobileNet(input_shape=(size, size, 3), include_top=False, weights=None, alpha=1.0)
    skips = {s: encoder.get_layer(name).output for s, name in ((2, "conv_pw_1_relu"), (4, "conv_pw_3_relu"), (8, "conv_pw_5_relu"))}
    x = encoder.output  # 1/32, 1024 channels
    for index, filters in enumerate((512, 256, 128, 64, 32)):
        x = layers.DepthwiseConv2D(5, padding="same", use_bias=False, name=f"dec{index}_dw")(x)
        x = layers.ReLU(name=f"dec{index}_dw_relu")(layers.BatchNormalization(name=f"dec{index}_dw_bn")(x))
        x = layers.Conv2D(filters, 1, use_bias=False, name=f"dec{index}_pw")(x)
        x = layers.ReLU(name=f"dec{index}_pw_relu")(layers.BatchNormalization(name=f"dec{index}_pw_bn")(x))
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"dec{index}_up")(x)
        scale = 2 ** (4 - index)  # resolution after this stage
        if scale in skips and int(skips[scale].shape[-1]) == filters:
            x = layers.Add(name=f"dec{index}_skip")([x, skips[scale]])
    depth = layers.Conv2D(1, 1, name="depth")(x)
    return keras.Model(encoder.input, depth, name="fastdepth")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from mobilekit.core.tf import seed_everything
    from mobilekit.families.depth.family import PRESETS
    from mobilekit.families.depth.network import build_depth_net, split_modules

    seed_everything(0)
    ours = build_depth_net(args.size, args.size, PRESETS["small"])
    extractor, depth_head, portrait_head = split_modules(ours)
    peer = fastdepth(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: to_tflite(model, Path(tmp) / f"{name}.tflite") for name, model in
                 (("ours", ours), ("fastdepth", peer), ("extractor", extractor), ("depth_head", depth_head), ("portrait_head", portrait_head))}
        runners = {name: runner(path, args.threads) for name, path in paths.items()}
        # the heads' inputs are the extractor's real outputs (cached features)
        ex_run, ex_feed = runners["extractor"]
        features = ex_run(**ex_feed)
        for head in ("depth_head", "portrait_head"):
            run, feed = runners[head]
            runners[head] = (run, {name: features[name] for name in feed})
        median = interleaved_medians(runners, args.repeats)
        sizes = {name: path.stat().st_size for name, path in paths.items()}
    params = {"ours": ours.count_params(), "fastdepth": peer.count_params(), "extractor": extractor.count_params(),
              "depth_head": depth_head.count_params(), "portrait_head": portrait_head.count_params()}
    print(f"LiteRT fp32, XNNPACK, {args.threads} threads, {args.size}×{args.size}, median of {args.repeats} interleaved runs")
    print(f"{'model':14} {'ms':>8} {'params':>10} {'bytes':>11}")
    for name in runners:
        print(f"{name:14} {median[name] * 1e3:8.2f} {params[name]:10d} {sizes[name]:11d}")
    heads = median["depth_head"] + median["portrait_head"]
    print(f"ours / FastDepth latency: {median['ours'] / median['fastdepth']:.2f}x "
          f"(params {params['ours'] / params['fastdepth']:.2f}x)")
    print(f"heads only (depth + portrait on cached features) / end to end: {heads / median['ours']:.2f}x; "
          f"depth head alone: {median['depth_head'] / median['ours']:.2f}x")


if __name__ == "__main__":
    main()
