"""Benchmark: LiteRT latency of the TFLite variants a sweep built, against `tflite-fp32` (the peer)
timed in the same run, on the same input.

Reads the artifacts of an `optimize sweep` output directory (build one with
`mobilekit optimize sweep --target tflite --out sweep`), runs each `.tflite` through LiteRT's
signature runner with XNNPACK on one thread after two warm-up runs, and prints the median wall
time, the ratio to fp32, and the size ratio. Core ML variants are not timed here: Core ML runs
only on Apple devices, and the MIL executor's NumPy timing says nothing about them.

    PYTHONPATH=. python bench/bench_tflite_variants.py --sweep sweep [--repeats 50]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import numpy as np  # noqa: E402

PEER = "tflite-fp32"


def time_variant(path: Path, repeats: int) -> float:
    from ai_edge_litert.interpreter import Interpreter

    from mobilekit.parity.runners.litert import to_input

    runner = Interpreter(model_path=str(path), num_threads=1).get_signature_runner("serving_default")
    details = runner.get_input_details()
    rng = np.random.default_rng(0)
    feed = {name: to_input(rng.random(tuple(d["shape"]), dtype=np.float32), d) for name, d in details.items()}
    for _ in range(2):
        runner(**feed)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        runner(**feed)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, required=True, help="An `optimize sweep --out` directory.")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    report = json.loads((args.sweep / "sweep.json").read_text())
    rows = [r for r in report["variants"] if r["target"] == "tflite" and r["path"] and not r["error"]]
    by_name = {r["name"]: r for r in rows}
    if PEER not in by_name:
        sys.exit(f"{args.sweep}: the sweep has no {PEER} artifact to compare against")
    timings = {r["name"]: time_variant(args.sweep / r["path"], args.repeats) for r in rows}
    peer_time, peer_bytes = timings[PEER], by_name[PEER]["bytes"]
    print(f"LiteRT (XNNPACK, 1 thread), median of {args.repeats}; ratios vs {PEER} measured in this run")
    print(f"{'variant':24} {'ms':>8} {'time/fp32':>10} {'size/fp32':>10} {report['budget']['metric']:>8}")
    for name, seconds in timings.items():
        row = by_name[name]
        print(f"{name:24} {seconds * 1e3:8.2f} {seconds / peer_time:10.2f} {row['bytes'] / peer_bytes:10.2f} {row['metric']:8.4f}")


if __name__ == "__main__":
    main()
