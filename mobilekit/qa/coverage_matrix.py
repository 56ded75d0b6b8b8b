"""Conversion coverage matrix: every model of `mobilekit.qa.zoo` through `convert` and `parity` for
Core ML, TFLite and ONNX, rendered as `docs/coverage.md`.

Each cell is what the kit's own commands do with the model: `convert_artifact` at fp32 (so the
numbers measure conversion, not fp16 rounding) and `verify_artifact` against TensorFlow on seeded
uniform inputs. Outputs are the heads' logits (`classifier_activation=None`): a softmax over random
weights is often exactly uniform or one-hot and would hide any error. Random-weight logits range
from 1e-11 to 1e3, so the tolerance is scale-free: PSNR ≥ 80 dB against the reference's peak (RMS
error ≤ 1e-4 of the largest |value|); max-abs is reported beside it. The runners are the build gate's:
LiteRT for TFLite, onnxruntime for ONNX and, off macOS, the MIL executor for Core ML (the converted
ML program executed op by op in NumPy; Core ML itself needs macOS).

Every entry runs in its own Python process (`--one NAME`): memory is returned between models and
a crash becomes a ✗ of that row, not of the run. Results are kept as one JSON file per entry, so an
interrupted run resumes where it stopped.

    python -m mobilekit.qa.coverage_matrix [--only NAME ...] [--reduced] [--jobs N] [--results DIR] [--out docs/coverage.md]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from mobilekit.qa.coverage_rows import (CONDITIONING_MARGIN_DB, FLOOR_SLACK_DB, MIN_PSNR_DB, TARGETS,  # noqa: F401
                                        Cell, Row)

PRECISION = "fp32"
MAX_DAMPING = 6  # BatchNorm scales halved at most this often (to 1/64) to steady a chaotic reference
SAMPLES = 2
# A cross-section for CI's reduced slow run: an inverted-residual net with squeeze-excite and
# hard-swish, and the modern blocks (exact GELU and grouped convolutions are also in the fast suite).
REDUCED = ("MobileNetV3Small", "layer-norm", "group-norm", "multi-head-attention", "vit-block",
           "separable-conv", "transposed-conv", "depth-to-space", "resize-bilinear", "resize-bilinear-align-corners",
           "gelu-exact", "gelu-tanh", "swish", "hard-swish")
ENTRY_TIMEOUT_S = 1800


def _one_line(text: str, limit: int = 220) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _failure_reason(exc: BaseException, target: str) -> str:
    """One line: the unsupported ops with their first reason, else the error's own first line."""
    details = getattr(exc, "details", {}) or {}
    rows = details.get("unsupported_ops", {}).get(target) or []
    if rows:
        parts = []
        for row in rows:
            why = (row.get("reasons") or [row.get("reason") or ""])[0]
            parts.append(f"{row.get('op', '?')} ({why})" if why else str(row.get("op", "?")))
        return _one_line("unsupported op(s): " + "; ".join(dict.fromkeys(parts)))
    first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
    return _one_line(f"{type(exc).__name__}: {first}" if not str(exc).strip() else first)


def _routes(details: dict[str, Any]) -> list[str]:
    return sorted({f"{r['op']}: {r['status']} ({r.get('rule') or r.get('class_name') or r.get('flex_op')})"
                   for r in details.get("op_routes", []) if not r.get("introduced_by")})


def _psnr(reference: dict, other: dict) -> float:
    """The lowest PSNR over the outputs (the parity metric; identical arrays count as infinite)."""
    from mobilekit.parity.metrics import compare_values

    psnrs = (compare_values(ref, other[name])["psnr"] for name, ref in reference.items())
    return min((float("inf") if p is None else p for p in psnrs), default=float("inf"))


def reference_conditioning(ctx, inputs: dict, expected: dict) -> float:
    """PSNR between TensorFlow's outputs on `inputs` (`expected`) and on `inputs` one ulp up: how much
    the reference itself amplifies float rounding. A converter cannot be judged below this."""
    import numpy as np

    from mobilekit.convert.context import reference_outputs

    nudged = {n: np.nextafter(a, np.float32(np.inf)).astype(np.float32) for n, a in inputs.items()}
    return _psnr(expected, reference_outputs(ctx, nudged))


def weight_conditioning(ctx, inputs: dict, expected: dict, seed: int = 0) -> float:
    """PSNR between TensorFlow's outputs and those of the same model with every weight moved one
    ulp (random direction): what converters do to weights anyway (BatchNorm folded into convolutions,
    constants re-laid out), so a converter cannot be judged below this either."""
    import numpy as np

    from mobilekit.convert.context import reference_outputs

    model = ctx.model
    original = model.get_weights()
    rng = np.random.default_rng(seed)
    try:
        model.set_weights([np.where(rng.random(w.shape) < 0.5, np.nextafter(w, np.float32(np.inf)),
                                    np.nextafter(w, np.float32(-np.inf))).astype(w.dtype) if w.dtype == np.float32 else w
                           for w in original])
        return _psnr(expected, reference_outputs(ctx, inputs))
    finally:
        model.set_weights(original)


def row_tolerance_db(reference_psnr_1ulp: float | None) -> float:
    """The PSNR a converted model must reach: `MIN_PSNR_DB`, or for a reference that is itself
    ill-conditioned, `FLOOR_SLACK_DB` below its 1-ulp floor (never stricter than `MIN_PSNR_DB`)."""
    if reference_psnr_1ulp is None or reference_psnr_1ulp >= MIN_PSNR_DB + CONDITIONING_MARGIN_DB:
        return MIN_PSNR_DB
    return min(MIN_PSNR_DB, reference_psnr_1ulp - FLOOR_SLACK_DB)


def recalibrate_batchnorm(model, inputs: dict) -> int:
    """Set every BatchNormalization's moving statistics to those of one training-mode pass over
    `inputs` (what a trained network's statistics are: each layer normalized); returns the layers set."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    try:
        for layer in norms:
            layer.momentum = 0.0  # moving = this batch's statistics
        model(inputs if len(inputs) > 1 else next(iter(inputs.values())), training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return len(norms)


def condition_reference(ctx, inputs: dict, row: Row) -> dict:
    """Make a random-weight reference steady enough to judge converters by, record how, set the
    row's tolerance, and return the reference outputs on `inputs`.

    Random weights with BatchNorm's initial statistics (mean 0, variance 1) leave deep nets
    unnormalized: activations grow stage after stage until a 1-ulp input change moves the output as
    much as any converter could. First the statistics are re-estimated as training would; where deep
    residual stacks stay chaotic, every BatchNorm scale is halved (and the statistics re-estimated)
    up to `MAX_DAMPING` times, which shrinks each residual branch against its skip path the way
    trained networks are. What still stays below the margin is judged against its own floor."""
    from mobilekit.convert.context import parity_inputs, reference_outputs

    expected = reference_outputs(ctx, inputs)
    row.reference_psnr_1ulp = initial = reference_conditioning(ctx, inputs, expected)
    calibration, damping = None, 0
    while row.reference_psnr_1ulp < MIN_PSNR_DB + CONDITIONING_MARGIN_DB and damping <= MAX_DAMPING:
        calibration = calibration if calibration is not None else parity_inputs(ctx, 16, seed=1)
        if damping:
            scale_batchnorm(ctx.model, 0.5)
        if not recalibrate_batchnorm(ctx.model, calibration):
            break
        expected = reference_outputs(ctx, inputs)
        previous, row.reference_psnr_1ulp = row.reference_psnr_1ulp, reference_conditioning(ctx, inputs, expected)
        damping += 1
        if damping > 1 and row.reference_psnr_1ulp < previous + 1.0:
            break  # damping does not steady this net (no residual branches to shrink)
    if calibration is not None and damping:
        row.note = (f"BatchNorm statistics re-estimated on 16 uniform inputs"
                    + (f" and every BatchNorm scale halved {damping - 1}×" if damping > 1 else "")
                    + f": with the initial weights the random-weight reference amplified a 1-ulp input change to "
                    f"{initial:.0f} dB PSNR (after: {row.reference_psnr_1ulp:.0f} dB)")
    floor = row.reference_psnr_1ulp
    if floor < MIN_PSNR_DB + CONDITIONING_MARGIN_DB:
        row.reference_psnr_weights_1ulp = weight_conditioning(ctx, inputs, expected)
        floor = min(floor, row.reference_psnr_weights_1ulp)
    row.min_psnr = row_tolerance_db(floor)
    if row.min_psnr < MIN_PSNR_DB:
        row.note = ((row.note + "; ") if row.note else "") + (
            f"the reference stays ill-conditioned (TensorFlow against itself: inputs one ulp apart "
            f"{row.reference_psnr_1ulp:.0f} dB, weights one ulp apart {row.reference_psnr_weights_1ulp:.0f} dB), so "
            f"converters are judged against that floor: PSNR ≥ {row.min_psnr:.0f} dB ({FLOOR_SLACK_DB:.0f} dB below it)")
    return expected


def scale_batchnorm(model, factor: float) -> None:
    """Multiply every BatchNormalization's scale (gamma) and offset (beta) by `factor`."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            for weight in (layer.gamma, layer.beta):
                if weight is not None:
                    weight.assign(weight * factor)


def run_entry(name: str, work: Path, samples: int = SAMPLES) -> Row:
    """Build one zoo model and take it through every target, in this process."""
    from mobilekit.convert.context import ModelContext, parity_inputs, reference_outputs
    from mobilekit.core.config import Tolerance
    from mobilekit.convert.request import convert_artifact, convert_request
    from mobilekit.nn.keras_io import model_io
    from mobilekit.parity.verify import verify_artifact
    from mobilekit.qa.zoo import ZOO, register_applications

    register_applications()
    entry = ZOO.get(name)
    row = Row(entry.name, entry.kind, entry.what)
    try:
        model = entry.build()
        ctx = ModelContext(model, model_io(model), work / f"{name.lower()}.keras")
        row.params, row.input_shape = int(model.count_params()), list(ctx.io.inputs[0].shape)
        inputs = parity_inputs(ctx, samples)
        expected = condition_reference(ctx, inputs, row)
    except Exception as exc:  # noqa: BLE001 - a row of the matrix, not a crash of the run
        row.error = _one_line(f"{type(exc).__name__}: {exc}")
        return row
    for target in TARGETS:
        started = time.perf_counter()
        out = work / target
        try:
            artifact = convert_artifact(ctx, target, out, convert_request(ctx, target, precision=PRECISION))
            result = verify_artifact(ctx, artifact.path, PRECISION, inputs, expected, tolerance=Tolerance(min_psnr=row.min_psnr))
            max_abs = max((o.max_abs for o in result.outputs if o.max_abs is not None), default=None)
            psnr = min((o.psnr for o in result.outputs if o.psnr is not None), default=None)
            cell = Cell(target, result.status == "passed", max_abs, psnr, routes=_routes(artifact.details))
            if result.status != "passed":
                bad = [c[2:] for c in result.checks if c.startswith("✗")]
                cell.reason = _one_line(f"parity {result.status} ({result.runner}): " + ("; ".join(bad) or result.note or ""))
        except Exception as exc:  # noqa: BLE001
            cell = Cell(target, False, reason=_failure_reason(exc, target))
        finally:
            shutil.rmtree(out, ignore_errors=True)
        cell.seconds = round(time.perf_counter() - started, 1)
        row.cells[target] = cell
    return row


# --------------------------------------------------------------------------- many entries


def run_isolated(name: str, results: Path, timeout_s: int = ENTRY_TIMEOUT_S) -> Row:
    """`run_entry` in a child process; its JSON lands in `results/<name>.json`."""
    from mobilekit.qa.zoo import ZOO, register_applications

    register_applications()
    target = results / f"{name}.json"
    cmd = [sys.executable, "-m", "mobilekit.qa.coverage_matrix", "--one", name, "--result", str(target)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        if proc.returncode == 0 and target.is_file():
            failure = None
        elif proc.returncode == -9:
            failure = "the conversion process was killed (SIGKILL: out of memory on this machine)"
        else:
            failure = _one_line(f"the conversion process ended with exit {proc.returncode}: "
                                + (proc.stderr.strip().splitlines() or ["no output"])[-1])
    except subprocess.TimeoutExpired:
        failure = f"did not finish within {timeout_s} s"
    if failure is None:
        return Row.from_dict(json.loads(target.read_text()))
    entry = ZOO.get(name)
    row = Row(entry.name, entry.kind, entry.what, error=failure)
    target.write_text(json.dumps(row.to_dict(), indent=1))
    return row


def run_matrix(names: Sequence[str], results: Path, *, fresh: bool = False, jobs: int = 1, log=print) -> list[Row]:
    """Every entry (cached results reused unless `fresh`), `jobs` child processes at a time; rows in
    the order of `names`. The converters are mostly single-threaded Python, so 2 jobs on 2 cores
    nearly halve the wall time (the largest models need ~8 GB each)."""
    from concurrent.futures import ThreadPoolExecutor

    results.mkdir(parents=True, exist_ok=True)
    done: dict[str, Row] = {}
    todo = []
    for name in names:
        cached = results / f"{name}.json"
        if cached.is_file() and not fresh:
            done[name] = Row.from_dict(json.loads(cached.read_text()))
        else:
            todo.append(name)

    finished = iter(range(len(done) + 1, len(names) + 1))  # next() is atomic under the GIL

    def one(name: str) -> Row:
        started = time.perf_counter()
        row = run_isolated(name, results)
        log(f"[{next(finished)}/{len(names)}] {name}: "
            + (row.error or " ".join(f"{t} {'✓' if c.ok else '✗'}" for t, c in row.cells.items()))
            + f" ({time.perf_counter() - started:.0f} s)", flush=True)
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for name, row in zip(todo, pool.map(one, todo)):
            done[name] = row
    return [done[n] for n in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobilekit.qa.coverage_matrix", description=__doc__.splitlines()[0])
    parser.add_argument("--one", help="run one entry in this process and write its JSON to --result")
    parser.add_argument("--result", type=Path)
    parser.add_argument("--only", nargs="*", help="entries to run (default: all)")
    parser.add_argument("--reduced", action="store_true", help=f"the CI cross-section: {', '.join(REDUCED)}")
    parser.add_argument("--results", type=Path, default=Path("docs/coverage-results"),
                        help="per-entry JSON results, kept in the repository so a run resumes (default: docs/coverage-results)")
    parser.add_argument("--fresh", action="store_true", help="ignore earlier results")
    parser.add_argument("--jobs", type=int, default=1, help="entries converted at once (each in its own process)")
    parser.add_argument("--out", type=Path, help="write the Markdown table here (e.g. docs/coverage.md)")
    parser.add_argument("--render-only", action="store_true", help="convert nothing: render the results kept so far")
    args = parser.parse_args(argv)
    if args.one:
        with tempfile.TemporaryDirectory(prefix="mobilekit-coverage-") as tmp:
            row = run_entry(args.one, Path(tmp))
        (args.result or Path(f"{args.one}.json")).write_text(json.dumps(row.to_dict(), indent=1))
        return 0
    from mobilekit.qa.coverage_report import cached_rows, environment, failures, render_markdown
    from mobilekit.qa.zoo import entries

    names = list(args.only or (REDUCED if args.reduced else [e.name for e in entries()]))
    rows = cached_rows(names, args.results) if args.render_only else run_matrix(names, args.results, fresh=args.fresh, jobs=args.jobs)
    text = render_markdown(rows, environment())
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}: {len(rows)} rows, {len(failures(rows))} ✗")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
