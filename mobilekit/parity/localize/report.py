"""The divergence report: the suspect op of the failing segment, its input ranges and the fp16 analysis."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mobilekit.parity import fp16
from mobilekit.parity.localize.matching import Point, float_array, var_of
from mobilekit.parity.runners.intermediates import CandidateRun, RunOp


# Ops that only move, retype or reshape data: never reported as "the" divergent op when another
# op of the segment computes something.
_LAYOUT_OPS = {"transpose", "cast", "reshape", "squeeze", "expand_dims", "identity", "TRANSPOSE", "RESHAPE",
               "SQUEEZE", "EXPAND_DIMS", "DEQUANTIZE", "CAST"}


@dataclass
class Divergence:
    op_name: str
    op_type: str
    index: int  # position of the first failing point among the bisected points
    of: int  # number of bisected points (matched, topologically ordered)
    max_abs: float | None  # None when the candidate is NaN/Inf there
    input_ranges: dict[str, dict[str, Any]]
    fp16_overflow: bool
    suggestion: str | None
    comparisons: int
    matched_by: str  # "name" | "position"
    layer: str | None = None  # the Keras layer whose output first diverges
    layer_type: str | None = None
    tensor: str | None = None  # the candidate tensor matched to that layer
    candidate_ops: list[str] = field(default_factory=list)  # the segment's ops, program order
    metrics: dict[str, Any] = field(default_factory=dict)  # full comparison at the point
    reference_ranges: dict[str, list[float]] = field(default_factory=dict)  # layer output and inputs
    fp16_subnormal: bool = False
    fp16_range: list[dict[str, Any]] = field(default_factory=list)  # fp16_range_report entries
    keep_fp32: list[str] = field(default_factory=list)  # op names for op_selector ("/" written "_")
    ambiguous: bool = False  # the segment holds several ops that could be the source; op_name is the earliest
    matched: int = 0  # matched points in the model (before restricting to the failing output's ancestors)
    case: int = 0
    target: str = ""
    precision: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))

    def summary(self) -> str:
        where = f"{self.op_name} ({self.op_type}{', earliest suspect' if self.ambiguous else ''})"
        where += f", layer {self.layer} ({self.layer_type})" if self.layer else ""
        err = "NaN/Inf" if self.max_abs is None else f"max_abs {self.max_abs:.3g}"
        line = f"first divergent op: {where}, {err}; point {self.index + 1} of {self.of}, {self.comparisons} comparisons"
        return line + (f"; {self.suggestion}" if self.suggestion else "")


def _dynamic_inputs(op: RunOp, run: CandidateRun) -> list[str]:
    return [n for names in op.inputs.values() for n in names if n in run.dynamic]


def _has_weight(op: RunOp, run: CandidateRun) -> bool:
    for names in op.inputs.values():
        for n in names:
            value = run.values.get(n)
            if n not in run.dynamic and float_array(value) and value.size > 1:
                return True
    return False


def _range(value) -> dict[str, Any]:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub" or arr.size == 0:
        return {}
    data = arr.astype(np.float64, copy=False)
    ok = data[np.isfinite(data)]
    out = {"min": float(ok.min()) if ok.size else None, "max": float(ok.max()) if ok.size else None}
    if ok.size != data.size:
        out["nonfinite"] = int(data.size - ok.size)
    return out


def _fp16_analysis(probe, ref_values, run: CandidateRun, point: Point, segment: list[RunOp]):
    """fp16 range entries for the reference activations of the point's layer and its inputs, plus
    (fp16 ML programs) the program ops whose fp32-shadow values leave the fp16 range (`keep`) and
    the segment ops where the range is first left (`origins`)."""
    acts = {}
    layer = probe.by_name.get(point.layer) if point.layer else None
    for parent in layer.parents if layer else ():
        if parent in ref_values:
            acts[parent] = ref_values[parent]
    acts[point.layer or point.var] = point.ref
    entries, keep, origins = fp16.fp16_range_report(acts), [], []
    if run.shadow is not None:
        shadow = {o: run.shadow[o] for op in run.ops for o in op.outputs if o in run.shadow}
        over = {e["name"] for e in fp16.fp16_range_report(shadow) if e["overflow"]}
        keep = fp16.ops_leaving_fp16_range([(op.name, op.type, _dynamic_inputs(op, run), op.outputs) for op in run.ops], shadow)
        origins = [op for op in segment if over.intersection(op.outputs) and not over.intersection(_dynamic_inputs(op, run))]
        entries += [dict(e, name=f"program:{e['name']}")
                    for e in fp16.fp16_range_report({o: shadow[o] for op in origins for o in op.outputs})]
    return entries, keep, origins


def report(probe, ref_values, run: CandidateRun, point: Point, index: int, of: int, metrics: dict,
           segment: list[RunOp], comparisons: int, matched_by: str, matched: int, precision: str) -> Divergence:
    computing = [op for op in segment if op.type not in _LAYOUT_OPS] or segment

    fp16_entries, keep, overflow_ops = _fp16_analysis(probe, ref_values, run, point, segment) if precision == "fp16" else ([], [], [])
    overflow = any(e["overflow"] for e in fp16_entries) or bool(overflow_ops)
    subnormal = any(e["subnormal"] for e in fp16_entries)

    # Errors flow forward, so the earliest op that can introduce one is the best guess: an op leaving
    # the fp16 range, else the first op with weights, else the op producing the tensor.
    weighted = [op for op in computing if _has_weight(op, run)]
    if overflow_ops:
        chosen, suspects = overflow_ops[0], overflow_ops
    elif weighted:
        chosen, suspects = weighted[0], weighted
    else:
        chosen, suspects = (computing[-1], computing) if computing else (RunOp(point.var, "?", {}, [point.var]), [])
    if not (overflow or subnormal):
        keep = []  # values elsewhere may leave the range, but they are not why this point diverges
    elif not keep:
        keep = [op.name for op in computing]  # no shadow values (or only subnormals): the segment
    suggestion = fp16.keep_fp32_suggestion(keep) if keep and run.target == "coreml" else None  # a coremltools setting

    input_ranges = {}
    for param, names in chosen.inputs.items():
        for k, n in enumerate(names):
            if n in run.values and (n in run.dynamic or float_array(run.values[n])):  # not int parameters
                key = param if len(names) == 1 else f"{param}[{k}]"
                input_ranges[key] = {"name": run.display.get(n, n), "const": n not in run.dynamic, **_range(run.values[n])}
    reference_ranges = {}
    layer = probe.by_name.get(point.layer) if point.layer else None
    for parent in layer.parents if layer else ():
        if parent in ref_values:
            reference_ranges[f"input {parent}"] = [float(ref_values[parent].min()), float(ref_values[parent].max())]
    reference_ranges[f"output {point.layer or point.var}"] = [float(np.min(point.ref)), float(np.max(point.ref))]

    return Divergence(
        op_name=chosen.name, op_type=chosen.type, index=index, of=of,
        max_abs=metrics.get("max_abs"), input_ranges=input_ranges, fp16_overflow=overflow, suggestion=suggestion,
        comparisons=comparisons, matched_by=matched_by, layer=point.layer, layer_type=point.layer_type,
        tensor=run.display.get(var_of(point, run), point.var), candidate_ops=[op.name for op in segment],
        metrics=metrics, reference_ranges=reference_ranges, fp16_subnormal=subnormal, fp16_range=fp16_entries,
        keep_fp32=sorted({fp16.selector_name(n) for n in keep}), matched=matched, ambiguous=len(suspects) > 1,
    )


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
