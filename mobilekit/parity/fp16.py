"""float16 range analysis: which activations leave the fp16 range, and which Core ML ops to keep
in fp32 so a model converted with fp16 compute precision stays finite.

fp16 holds |x| <= 65504; below 2**-14 (6.1e-05) values are subnormal (fewer significant bits)
and below 2**-24 (6.0e-08) they flush to zero. An fp16 ML program stores every op output in
fp16, so a single activation above 65504 becomes inf and usually NaN downstream.

`fp32_shadow_run` executes an fp16 ML program with every fp16 tensor kept in float32 (same ops,
same fp16-rounded weights, no overflow): the value each op *would* produce with enough range. The
ops whose shadow outputs or inputs leave the fp16 range are the ones to keep in fp32; their
names, as coremltools' `op_selector` sees them, go into the suggestion.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

FP16_MAX = 65504.0
FP16_MIN_NORMAL = 2.0**-14
FP16_MIN_SUBNORMAL = 2.0**-24
SUBNORMAL_FRACTION = 0.01  # a tensor is flagged when this share of its non-zero values is subnormal
_FP16_SUFFIX = "_cast_fp16"  # appended to op / var names by coremltools' fp16 pass


def fp16_range_report(activations: Mapping[str, np.ndarray], *, subnormal_fraction: float = SUBNORMAL_FRACTION) -> list[dict[str, Any]]:
    """One entry per floating tensor (in the mapping's order) with values outside the fp16 range:
    `overflow` (some |x| > 65504, inf included) and/or `subnormal` (at least `subnormal_fraction`
    of the non-zero values below 2**-14). Tensors within range are left out."""
    report = []
    for name, value in activations.items():
        arr = np.asarray(value)
        if arr.dtype.kind != "f" or arr.size == 0:
            continue
        mag = np.abs(arr.astype(np.float64, copy=False)).ravel()
        mag = mag[~np.isnan(mag)]
        finite = mag[np.isfinite(mag)]
        over = int(np.count_nonzero(mag > FP16_MAX))
        nonzero = finite[finite > 0]
        sub = int(np.count_nonzero(nonzero < FP16_MIN_NORMAL))
        fraction = sub / nonzero.size if nonzero.size else 0.0
        subnormal = sub > 0 and fraction >= subnormal_fraction
        if over or subnormal:
            report.append({
                "name": name,
                "overflow": over > 0,
                "subnormal": subnormal,
                "max_abs": float(finite.max(initial=0.0)),
                "nonfinite_count": int(mag.size - finite.size),
                "overflow_count": over,
                "subnormal_fraction": round(fraction, 6),
                "flush_to_zero_count": int(np.count_nonzero(nonzero < FP16_MIN_SUBNORMAL)),
                "size": int(arr.size),
            })
    return report


def fp32_shadow_run(source, feeds: Mapping[str, np.ndarray]):
    """Run an ML program (path or MLModel) with fp16 tensors kept in float32; a MilRunResult with
    intermediates. The program is loaded afresh: the executor caches constants per program in
    their declared dtype, and this run must not share that cache with a normal run."""
    from unittest import mock

    from mobilekit.parity.mil import executor, load_program, run_program

    program = load_program(source)
    # The executor casts every op output to its declared dtype through this table; mapping fp16
    # to float32 for the duration of this run keeps the values unrounded and unbounded.
    with mock.patch.dict(executor._NP_DTYPES, {"fp16": np.float32}):
        return run_program(program, feeds, keep_intermediates=True)


def selector_name(op_name: str) -> str:
    """The op's name as `FP16ComputePrecision(op_selector=...)` sees it, with "/" turned into "_"
    (coremltools names the converted op `<name>_cast_fp16` and writes "/" as "_")."""
    return op_name[: -len(_FP16_SUFFIX)] if op_name.endswith(_FP16_SUFFIX) else op_name


def ops_leaving_fp16_range(ops: Iterable[tuple[str, str, list[str], list[str]]], values: Mapping[str, np.ndarray]) -> list[str]:
    """Names of the ops (name, type, dynamic input vars, output vars) that produce or consume a
    value outside the fp16 range according to `values` (fp32 shadow values): all of them must run
    in fp32, or the value is cast to fp16 (inf) on its way in or out."""
    flagged = {entry["name"] for entry in fp16_range_report(values) if entry["overflow"]}
    keep = []
    for name, op_type, inputs, outputs in ops:
        if op_type == "cast" or op_type.startswith("constexpr_"):
            continue
        if flagged.intersection(inputs) or flagged.intersection(outputs):
            keep.append(name)
    return keep


def keep_fp32_suggestion(op_names: Iterable[str]) -> str | None:
    """The coremltools setting that keeps `op_names` (names in the saved program) in fp32."""
    names = sorted({selector_name(n) for n in op_names})
    if not names:
        return None
    if len(names) == 1:
        selector = f'lambda op: op.name.replace("/", "_") != {names[0]!r}'
    else:
        selector = f'lambda op: op.name.replace("/", "_") not in {tuple(names)!r}'
    shown = ", ".join(names)
    return (f"keep {shown} in fp32: coremltools.convert(..., compute_precision="
            f"ct.transform.FP16ComputePrecision(op_selector={selector}))")
