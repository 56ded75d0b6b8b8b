"""Shared by the LiteRT latency benches: convert a Keras model to fp32 TFLite, make a signature
runner with XNNPACK on N threads, and time several models interleaved round-robin (each repeat
times every model once, so machine noise hits all alike); medians are reported."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

Runner = tuple[Callable[..., Any], dict[str, np.ndarray]]


def to_tflite(model, path: Path) -> Path:
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def runner(path: Path, threads: int) -> Runner:
    """The model's signature runner and a random feed for it."""
    from ai_edge_litert.interpreter import Interpreter

    signature = Interpreter(model_path=str(path), num_threads=threads).get_signature_runner()
    rng = np.random.default_rng(0)
    feed = {name: rng.random(tuple(d["shape"]), dtype=np.float32) for name, d in signature.get_input_details().items()}
    return signature, feed


def interleaved_medians(runners: Mapping[str, Runner], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds per run of each runner, timed round-robin after `warmup` runs each."""
    for run, feed in runners.values():
        for _ in range(warmup):
            run(**feed)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, (run, feed) in runners.items():
            started = time.perf_counter()
            run(**feed)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}
