"""Benchmark: one epoch of segmentation training streamed from the dataset cache, at 256×256.

For each sample count (default 5,000 and 20,000) the split is built once into the cache
(`mobilekit dataset build`; reused when it exists) and one epoch is trained in a fresh process,
which reports its peak RSS (`getrusage`), so the two counts show whether memory grows with the
dataset. Inside that process the epoch's steps are interleaved in blocks with steps on one
constant batch already in memory (the peer: a trainer that never waits for data); the ratio of
steps/s says whether the tf.data pipeline keeps the trainer busy.

    PYTHONPATH=. python bench/bench_dataset_streaming.py [--samples 5000 20000] [--size 256] [--cache DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import yaml  # noqa: E402

BLOCK = 25  # real-data steps per interleaved block
PEER_BLOCK = 5  # constant-batch steps after each block: enough to time the peer without doubling the epoch


def write_config(path: Path, samples: int, size: int, batch: int, cache: str) -> Path:
    path.write_text(yaml.safe_dump({
        "family": "segmentation", "preset": "tiny", "seed": 0,
        "data": {"image_size": [size, size], "train_samples": samples, "val_samples": 8, "parity_samples": 2,
                 "stream": True, "cache_dir": cache, "shuffle_buffer": 512, "hook_pool": 0},
        "training": {"epochs": 1, "batch_size": batch, "checkpoints": False},
        "bundle": {"name": f"stream-bench-{samples}", "version": "0.1.0"}}))
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def compiled_model(config_path: str):
    """(config, family, train function) of the segmentation model, seeded and compiled."""
    import mobilekit  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family
    from mobilekit.core.tf import seed_everything, tf_and_keras

    _, keras = tf_and_keras()
    config, _ = load_config(config_path)
    seed_everything(0)
    family = get_family("segmentation")
    model = family.build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=dict(family.losses(config)))
    return config, family, model.make_train_function()


def child(config_path: str) -> dict:
    """One epoch, real batches interleaved with constant-batch steps; reports steps/s and peak RSS."""
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.train.streaming import StreamedTrainSplit

    config, family, train_function = compiled_model(config_path)
    tf, _ = tf_and_keras()
    rss_model = peak_rss_mb()
    with StreamedTrainSplit(family, config) as stream:
        real = iter(stream.epoch_dataset(0))
        first = next(real)
        constant = iter(tf.data.Dataset.from_tensors(first).repeat())
        train_function(constant)  # trace both input signatures (the real batch dimension is dynamic)
        train_function(real)
        timings = {"real": [0.0, 0], "constant": [0.0, 0]}
        block = max(1, min(BLOCK, len(stream) // config.training.batch_size // 8))
        exhausted = False
        while not exhausted:
            for name, iterator, steps in (("real", real, block), ("constant", constant, max(1, block * PEER_BLOCK // BLOCK))):
                for _ in range(steps):
                    started = time.perf_counter()
                    try:
                        logs = train_function(iterator)
                    except (StopIteration, tf.errors.OutOfRangeError):
                        exhausted = True
                        break
                    float(logs["loss"])  # wait for the step
                    timings[name][0] += time.perf_counter() - started
                    timings[name][1] += 1
                if exhausted:
                    break
    return {"samples": len(stream), "steps_real": timings["real"][1] + 2, "steps_constant": timings["constant"][1],
            "steps_per_s_real": timings["real"][1] / timings["real"][0],
            "steps_per_s_constant": timings["constant"][1] / timings["constant"][0],
            "rss_after_model_mb": rss_model, "peak_rss_mb": peak_rss_mb(),
            "dataset_bytes": stream.index["bytes"]}


def child_constant(config_path: str, steps: int) -> dict:
    """The peer alone: `steps` training steps on one constant batch, no input pipeline; its peak RSS
    is what training costs without streaming (model, optimizer, activations)."""
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.data.cache.splits import config_store, split_key
    from mobilekit.data.cache.stream import shard_examples_numpy

    config, family, train_function = compiled_model(config_path)
    tf, _ = tf_and_keras()
    store = config_store(config)
    dataset_id = split_key(config, "train").id
    with store.using(dataset_id) as index:
        examples = shard_examples_numpy(store.path(dataset_id), index, 1)[: config.training.batch_size]
    batch = family.assemble_split(config, examples)
    constant = iter(tf.data.Dataset.from_tensors((batch.inputs, batch.targets)).repeat())
    for _ in range(steps):
        float(train_function(constant)["loss"])
    return {"steps": steps, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--cache", default=None, help="dataset cache root (default: the user's cache)")
    parser.add_argument("--build-only", action="store_true", help="build the datasets and stop")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-constant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    if args.child_constant:
        print(json.dumps(child_constant(args.child_constant, 200)))
        return
    cache = args.cache or os.environ.get("MOBILEKIT_DATASET_CACHE") or str(Path.home() / ".cache/mobilekit/datasets")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for samples in args.samples:
            config = write_config(Path(tmp) / f"bench-{samples}.yaml", samples, args.size, args.batch, cache)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mobilekit", "dataset", "build", "--config", str(config), "--split", "train",
                            "--quiet"], check=True, env=env)
            build_s = time.perf_counter() - started
            if args.build_only:
                print(f"{samples}: dataset ready ({build_s:.0f} s)")
                continue
            out = subprocess.run([sys.executable, __file__, "--child", str(config)], check=True, env=env,
                                 capture_output=True, text=True).stdout
            peer = subprocess.run([sys.executable, __file__, "--child-constant", str(config)], check=True, env=env,
                                  capture_output=True, text=True).stdout
            rows.append({**json.loads(out.strip().splitlines()[-1]), "build_s": build_s,
                         "peer_peak_rss_mb": json.loads(peer.strip().splitlines()[-1])["peak_rss_mb"]})
    if not rows:
        return
    print(f"\nsegmentation `tiny`, {args.size}×{args.size}, batch {args.batch}, one epoch streamed from the cache "
          f"(interleaved: blocks of {BLOCK} real-data steps, {PEER_BLOCK} steps on one constant batch)")
    print(f"{'samples':>8} {'cache':>9} {'steps/s real':>13} {'steps/s const':>14} {'ratio':>6} {'RSS model':>10} "
          f"{'peak RSS':>9} {'peak RSS, constant batch only':>30}")
    for r in rows:
        print(f"{r['samples']:>8} {r['dataset_bytes'] / 2**30:>7.2f}GB {r['steps_per_s_real']:>13.2f} "
              f"{r['steps_per_s_constant']:>14.2f} {r['steps_per_s_real'] / r['steps_per_s_constant']:>6.2f} "
              f"{r['rss_after_model_mb']:>8.0f}MB {r['peak_rss_mb']:>7.0f}MB {r['peer_peak_rss_mb']:>28.0f}MB")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
