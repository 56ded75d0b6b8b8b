"""Benchmark: NumPy MIL executor vs TensorFlow on the same converted model.

For each model (a MobileNetV2 at 96x96 and a small conv net), converts to an ML program (fp32
and fp16), then times on one input:
  - executor: `run_program` on the loaded program (after one warm-up run that reads weights);
  - TF predict: `model.predict(x)` (Keras' batch loop, what users call);
  - TF graph: the `tf.function` concrete function that was converted (fair peer: no Keras loop).
Prints median wall times and the executor / TF ratios, plus the parity of that run.

    PYTHONPATH=. python bench/bench_mil_executor.py [--repeats 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
# NumPy's OpenBLAS spin-waits for its worker threads: on a loaded machine (CI, 2 shared cores)
# that turns a 0.03 ms GEMM into 10 ms. One BLAS thread gives stable, comparable timings.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import mobilekit  # noqa: E402,F401  (TF_USE_LEGACY_KERAS before TensorFlow)

import numpy as np  # noqa: E402


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _mobilenetv2(keras):
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
    for layer in model.layers:  # realistic activation scale (random BN stats collapse the net)
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    model(np.random.default_rng(1).uniform(-1, 1, (4, 96, 96, 3)).astype(np.float32), training=True)
    return model, (1, 96, 96, 3)


def _small_convnet(keras):
    keras.utils.set_random_seed(0)
    i = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(i)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(32, 1, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.UpSampling2D(interpolation="bilinear")(x)
    return keras.Model(i, keras.layers.Conv2D(2, 1)(x)), (1, 64, 64, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import coremltools as ct
    import tensorflow as tf
    import tf_keras as keras

    from mobilekit.parity.mil import load_program, run_program

    rows = []
    for name, build in (("MobileNetV2-96", _mobilenetv2), ("small-convnet-64", _small_convnet)):
        model, shape = build(keras)
        x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
        graph = tf.function(lambda a: model(a, training=False)).get_concrete_function(tf.TensorSpec(shape, tf.float32, name="x"))
        ref = graph(tf.constant(x)).numpy()
        t_predict = _median_time(lambda: model.predict(x, verbose=0), args.repeats)
        t_graph = _median_time(lambda: graph(tf.constant(x)), args.repeats)
        for precision in (ct.precision.FLOAT32, ct.precision.FLOAT16):
            mlmodel = ct.convert([graph], source="tensorflow", convert_to="mlprogram", compute_precision=precision)
            prog = load_program(mlmodel)
            t0 = time.perf_counter()
            res = run_program(prog, {"x": x})  # warm-up: reads weights, decompresses constexprs
            t_first = time.perf_counter() - t0
            t_exec = _median_time(lambda: run_program(prog, {"x": x}), args.repeats)
            (out,) = res.outputs.values()
            err = float(np.abs(out.astype(np.float32) - ref).max())
            rows.append((name, prog.compute_precision, len(res.op_trace), t_first, t_exec, t_predict, t_graph, err, float(np.abs(ref).max())))

    header = f"{'model':<18} {'prec':<5} {'ops':>4} {'exec 1st':>9} {'exec':>9} {'TF predict':>11} {'TF graph':>9} {'exec/predict':>13} {'exec/graph':>11} {'max-abs':>9}"
    print(header)
    print("-" * len(header))
    for name, prec, n_ops, t_first, t_exec, t_predict, t_graph, err, scale in rows:
        print(
            f"{name:<18} {prec:<5} {n_ops:>4} {t_first * 1e3:>7.1f}ms {t_exec * 1e3:>7.1f}ms {t_predict * 1e3:>9.1f}ms "
            f"{t_graph * 1e3:>7.1f}ms {t_exec / t_predict:>12.2f}x {t_exec / t_graph:>10.2f}x {err:>9.2e}"
        )
    print(
        f"(median of {args.repeats} runs; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
        f"max-abs vs TF, output scale ~{rows[0][-1]:.3g} for {rows[0][0]})"
    )


if __name__ == "__main__":
    main()
