"""First divergent op: when a parity gate fails, find where the converted program leaves the reference.

1. Reference points: the TF model run once with every Keras layer output exposed (a functional
   `Model(inputs, [layer.output, ...])` of the same flavour, tf_keras or Keras 3), in the model's
   topological layer order; the model outputs come from the serving function the gate uses.
2. Candidate tensors: every op output of the artifact on the same case — the NumPy MIL executor's
   intermediates for Core ML, LiteRT with `experimental_preserve_all_tensors=True` for TFLite
   (builtin kernels: LiteRT turns its default XNNPACK delegate off to keep intermediates).
3. Matching, conservative. By name: converted ops keep TensorFlow's names, which start with the
   model scope and the Keras layer name ("model/c2/Relu" -> MIL "model_c2_Relu_cast_fp16", TFLite
   "model/r1/Relu;model/c1/Conv2D" for fused ops, matched to the latest layer named). A layer is
   matched to the *last* op output (program order) named after it whose shape equals the layer's
   output shape, directly or as NCHW (MIL runs convolutions channel-first). Layers folded into
   others (a Conv2D before its BatchNorm) have no such tensor and stay unmatched. By position,
   only when no layer matches by name: runs of equal shapes are aligned (longest common
   subsequence) and the ends of aligned runs matched. Model outputs always match by output name.
4. Search over the matched points that are ancestors of the earliest failing output, as a DAG
   (each point's nearest matched ancestors through the Keras graph), assuming a failure reaches
   every descendant: bisect the longest chain ending at the failing point (O(log n) comparisons),
   then check the first failing point's side parents and follow a failing one (a divergence that
   came in through a skip branch). Absolute tolerances are scaled by the point's magnitude
   relative to the output's (never tightened); PSNR is scale-free.
5. Report: the op in the candidate's segment between the last good point and the first bad one
   (ancestors of the bad tensor): an op leaving the fp16 range if any, else the first op with a
   weight tensor, else the op producing the tensor (`ambiguous` when the segment holds several
   such suspects, e.g. after position matching); its inputs' ranges; for fp16, whether
   reference activations (the layer and its inputs) or the program's own fp32-shadow values leave
   the fp16 range, and for Core ML the `op_selector` that keeps those ops in fp32.
"""
from __future__ import annotations

import importlib
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from mobilekit.core.config import Tolerance
from mobilekit.core.errors import InputError
from mobilekit.parity import fp16
from mobilekit.parity.compare import _gate
from mobilekit.parity.metrics import compare_values, finite

# Ops that only move, retype or reshape data: never reported as "the" divergent op when another
# op of the segment computes something.
_LAYOUT_OPS = {"transpose", "cast", "reshape", "squeeze", "expand_dims", "identity", "TRANSPOSE", "RESHAPE",
               "SQUEEZE", "EXPAND_DIMS", "DEQUANTIZE", "CAST"}


class LocalizeError(InputError):
    """The artifact cannot be localized (unknown target, unreadable program)."""


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


# -- public entry point ------------------------------------------------------------------------
def localize_divergence(ctx, artifact_path: Path | str, inputs: Mapping[str, np.ndarray], tolerance: Tolerance,
                        precision: str) -> Divergence | None:
    """The first op of `artifact_path` whose output leaves the reference by more than `tolerance`,
    on the first case of `inputs` (arrays with a leading case axis) whose outputs fail; None when
    no case fails on the value gates (max_abs / mean_abs / min_psnr; a task-metric-only failure
    has no per-op counterpart). TFLite is re-run with builtin kernels to keep intermediates, so a
    failure that only XNNPACK produces is not reproduced here (None). Raises LocalizeError for
    targets without a localizer."""
    from mobilekit.stages import reference_outputs, target_of

    artifact = Path(artifact_path)
    target = target_of(artifact)
    runner = _CANDIDATES.get(target)
    if runner is None:
        raise LocalizeError(f"no divergence localizer for {target} artifacts (have: {', '.join(sorted(_CANDIDATES))})")
    tol = _value_tolerance(tolerance, precision)
    probe = _ReferenceProbe.build(ctx.model)
    count = len(next(iter(inputs.values())))
    for case in range(count):
        case_inputs = {n: np.asarray(a[case : case + 1], np.float32) for n, a in inputs.items()}
        ref_out = reference_outputs(ctx, case_inputs)
        with np.errstate(over="ignore", invalid="ignore"):  # fp16 overflow is what we look for
            run = _by_output_name(runner(artifact, case_inputs, ctx.io, precision), [t.name for t in ctx.io.outputs])
        div = _localize_case(ctx, probe, case_inputs, ref_out, run, tol, precision)
        if div is not None:
            div.case, div.target, div.precision = case, target, precision
            return div
    return None


def bisect_first_failing(count: int, fails: Callable[[int], bool]) -> int:
    """Index of the first failing point of `count` points where point count-1 fails and failures
    persist once they start: binary search, ceil(log2(count)) calls of `fails`."""
    lo, hi = -1, count - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid
    return hi


def first_divergent_point(parents: list[list[int]], fails: Callable[[int], bool]) -> int:
    """A failing point whose parents all pass, in a DAG of points in topological order (`parents[i]`
    holds indices < i) whose last point fails, assuming a failure reaches every descendant.

    Bisect the longest chain of ancestors ending at the failing target; at the first failing point
    of the chain, check its other parents: where one fails (the divergence came in through a side
    branch) continue from it, else that point is where the divergence starts. A plain chain costs
    ceil(log2(n)) calls of `fails`; each merge crossed adds a bisection of a shorter chain."""
    depth, via = [], []
    for i, ps in enumerate(parents):
        best = max(ps, key=lambda p: (depth[p], p)) if ps else None
        depth.append(depth[best] + 1 if best is not None else 0)
        via.append(best)
    target = len(parents) - 1
    while True:
        chain = [target]
        while via[chain[-1]] is not None:
            chain.append(via[chain[-1]])
        chain.reverse()
        k = bisect_first_failing(len(chain), lambda m: fails(chain[m]))
        first = chain[k]
        side = [p for p in parents[first] if k == 0 or p != chain[k - 1]]
        target = next((p for p in side if fails(p)), None)
        if target is None:
            return first


# -- the reference -----------------------------------------------------------------------------
@dataclass
class _Layer:
    name: str
    type: str
    order: int
    parents: list[str]


class _ReferenceProbe:
    """The model with every single-output layer's output exposed (None parts for models without
    a functional layer graph, e.g. a SavedModel signature or a subclassed model)."""

    def __init__(self, model, probe, layers: list[_Layer], output_layers: list[str | None], input_names: list[str] | None):
        self.model, self.probe, self.layers, self.output_layers, self.input_names = model, probe, layers, output_layers, input_names
        self.by_name = {layer.name: layer for layer in layers}

    @classmethod
    def build(cls, model) -> "_ReferenceProbe":
        layers, tensors = [], []
        all_layers = list(getattr(model, "layers", None) or [])
        try:
            keras = importlib.import_module(type(model).__module__.split(".")[0])
            model_inputs = model.inputs
        except Exception:
            return cls(model, None, [], [], None)
        for order, layer in enumerate(all_layers):
            if type(layer).__name__ == "InputLayer":
                continue
            try:
                out = layer.output  # raises for layers called at several places
            except Exception:
                continue
            if isinstance(out, (list, tuple, dict)):
                continue
            layers.append(_Layer(layer.name, type(layer).__name__, order, _parent_names(layer)))
            tensors.append(out)
        probe = None
        if tensors:
            try:
                probe = keras.Model(model_inputs, tensors)
            except Exception:
                layers, probe = [], None
        output_layers = _output_layer_names(model)
        names = getattr(model, "input_names", None)
        return cls(model, probe, layers, output_layers, list(names) if names else None)

    def run(self, case_inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.probe is None:
            return {}
        if len(case_inputs) == 1:
            feed = next(iter(case_inputs.values()))
        elif self.input_names and all(n in case_inputs for n in self.input_names):
            feed = [case_inputs[n] for n in self.input_names]
        else:
            feed = dict(case_inputs)
        values = self.probe(feed, training=False)
        values = values if isinstance(values, (list, tuple)) else [values]
        return {layer.name: np.asarray(v) for layer, v in zip(self.layers, values)}

    def ancestors(self, name: str) -> set[str]:
        seen, stack = set(), [name]
        while stack:
            layer = self.by_name.get(stack.pop())
            for parent in layer.parents if layer else ():
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen


def _parent_names(layer) -> list[str]:
    try:
        node = layer._inbound_nodes[0]
    except Exception:
        return []
    if hasattr(node, "inbound_layers"):  # tf_keras
        parents = node.inbound_layers
        parents = parents if isinstance(parents, (list, tuple)) else [parents]
        return [p.name for p in parents]
    if hasattr(node, "parent_nodes"):  # Keras 3
        return [n.operation.name for n in node.parent_nodes]
    return []


def _output_layer_names(model) -> list[str | None]:
    out = []
    for tensor in getattr(model, "outputs", None) or []:
        history = getattr(tensor, "_keras_history", None)
        layer = getattr(history, "layer", None) or getattr(history, "operation", None)
        out.append(getattr(layer, "name", None))
    return out


# -- the candidate -----------------------------------------------------------------------------
@dataclass
class _Op:
    name: str
    type: str
    inputs: dict[str, list[str]]  # parameter -> var ids
    outputs: list[str]


@dataclass
class _CandidateRun:
    ops: list[_Op]  # ops depending on the model inputs, program order
    values: dict[str, np.ndarray]  # var id -> value (op outputs, constant inputs)
    labels: dict[str, list[str]]  # var id -> names to match layer names against
    display: dict[str, str]  # var id -> name shown in reports
    dynamic: set[str]  # var ids depending on the model inputs
    outputs: dict[str, np.ndarray]  # by model output name
    output_vars: dict[str, str]  # model output name -> var id
    channels_first: bool  # rank >= 3 tensors may be channel-first (NCHW)
    target: str
    shadow: dict[str, np.ndarray] | None = None  # fp16 programs: the same program with fp32 tensors


def _run_mil(artifact: Path, case_inputs, io, precision: str) -> _CandidateRun:
    from mobilekit.parity.mil import load_program, run_program
    from mobilekit.parity.runners.base import pixel_inputs

    prog = load_program(artifact)
    feeds = pixel_inputs(case_inputs, io)
    result = run_program(prog, feeds, keep_intermediates=True)
    fn = prog.function(result.function)
    values: dict[str, np.ndarray] = dict(result.intermediates)
    dynamic = {var.name for var in fn.inputs.values()}
    for name, var in fn.inputs.items():
        if name in feeds:
            values.setdefault(var.name, np.asarray(feeds[name]))
    ops, labels = [], {}
    for op in fn.operations:
        if op.op_type == "const":
            continue
        inputs = {}
        for key, var in op.inputs.items():
            group = list(var) if isinstance(var, (list, tuple)) else [var]
            inputs[key] = [v.name for v in group]
            for v in group:
                if v.name not in values and v.val is not None and not isinstance(v.val, str):
                    values[v.name] = np.asarray(v.val)
        outs = [v.name for v in op.outputs]
        if any(n in dynamic for names in inputs.values() for n in names):
            dynamic.update(outs)
            ops.append(_Op(op.name, op.op_type, inputs, outs))
            for out in outs:
                labels[out] = [out, op.name]
    _, outputs_desc = prog.io(result.function)
    output_vars = {d["name"]: d["var"] for d in outputs_desc}
    shadow = None
    if prog.compute_precision == "fp16":
        shadow = fp16.fp32_shadow_run(artifact, feeds).intermediates
    return _CandidateRun(ops, values, labels, {v: v for v in values}, dynamic,
                         {k: np.asarray(v) for k, v in result.outputs.items()}, output_vars, True, "coreml", shadow)


def _run_litert(artifact: Path, case_inputs, io, precision: str) -> _CandidateRun:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from mobilekit.parity.runners.litert import SIGNATURE

    # Builtin kernels: a delegate (XNNPACK) would fuse the graph into one node and keep no intermediates.
    interp = Interpreter(model_path=str(artifact), num_threads=1, experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    runner = interp.get_signature_runner(SIGNATURE)
    outputs = runner(**{n: np.ascontiguousarray(a, np.float32) for n, a in case_inputs.items()})
    names = {d["index"]: d["name"] for d in interp.get_tensor_details()}
    values: dict[str, np.ndarray] = {}

    def var(index: int) -> str:
        key = f"t{index}"
        if key not in values:
            try:
                values[key] = np.array(interp.get_tensor(index))
            except ValueError:  # tensors without data (scratch)
                pass
        return key

    dynamic = {var(int(d["index"])) for d in runner.get_input_details().values()}
    ops, labels = [], {}
    for detail in interp._get_ops_details():  # no public API lists ops with their tensors
        inputs = {f"in{k}": [var(int(i))] for k, i in enumerate(detail["inputs"]) if int(i) >= 0}
        outs = [var(int(i)) for i in detail["outputs"] if int(i) >= 0]
        if not any(n in dynamic for names_ in inputs.values() for n in names_):
            continue
        dynamic.update(outs)
        ops.append(_Op(names.get(int(detail["outputs"][0]), f"op{detail['index']}"), detail["op_name"], inputs, outs))
        for out in outs:
            labels[out] = names.get(int(out[1:]), "").split(";")
    output_vars = {n: f"t{d['index']}" for n, d in runner.get_output_details().items()}
    display = {v: names.get(int(v[1:]), v) for v in values}
    return _CandidateRun(ops, values, labels, display, dynamic, {k: np.asarray(v) for k, v in outputs.items()},
                         output_vars, False, "tflite")


_CANDIDATES: dict[str, Callable[..., _CandidateRun]] = {"coreml": _run_mil, "tflite": _run_litert}


def _by_output_name(run: _CandidateRun, names: list[str]) -> _CandidateRun:
    """Key the candidate's outputs by the model's output names; where the artifact names them
    otherwise (TF's Identity, Identity_1, ...), by position: sorted names <-> artifact order."""
    if set(names) <= set(run.outputs):
        return run
    if len(names) != len(run.outputs):
        raise LocalizeError(f"artifact outputs {sorted(run.outputs)} do not match the model's {sorted(names)}")
    renamed = dict(zip(run.outputs, sorted(names)))
    run.outputs = {renamed[k]: v for k, v in run.outputs.items()}
    run.output_vars = {renamed.get(k, k): v for k, v in run.output_vars.items()}
    return run


# -- matching ----------------------------------------------------------------------------------
@dataclass
class _Point:
    layer: str | None
    layer_type: str
    order: int
    ref: np.ndarray
    var: str
    is_output: bool = False


def _sanitize(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


class _LayerNames:
    """Maps a TF-derived tensor name to the Keras layer it belongs to."""

    def __init__(self, model_name: str, layers: Mapping[str, int]):
        self.prefix = _sanitize(model_name) + "_" if model_name else None
        self.order = layers
        self.sanitized = sorted(((_sanitize(n), n) for n in layers), key=lambda p: -len(p[0]))  # longest first

    def layer_of(self, names: list[str]) -> str | None:
        found = [layer for name in names for layer in [self._one(_sanitize(name))] if layer is not None]
        return max(found, key=self.order.__getitem__) if found else None

    def _one(self, name: str) -> str | None:
        if self.prefix and name.startswith(self.prefix):
            rest = name[len(self.prefix) :]
            for clean, layer in self.sanitized:
                if rest == clean or rest.startswith(clean + "_"):
                    return layer
            return None
        padded = f"_{name}_"
        best = None
        for clean, layer in self.sanitized:
            at = padded.find(f"_{clean}_")
            if at >= 0 and (best is None or at < best[0]):
                best = (at, layer)
        return best[1] if best else None


def _views(ref: np.ndarray, cand: np.ndarray, channels_first: bool) -> list[np.ndarray]:
    """`cand` laid out like `ref`: as is, and/or moved channel-first -> channel-last."""
    views = [cand] if cand.shape == ref.shape else []
    if channels_first and cand.ndim >= 3:
        moved = np.moveaxis(cand, 1, -1)
        if moved.shape == ref.shape:
            views.append(moved)
    return views


def _float_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _match(probe: _ReferenceProbe, ref_values: dict[str, np.ndarray], run: _CandidateRun,
           skip: set[str]) -> tuple[dict[str, str], str]:
    """layer name -> candidate var id, and how they were matched."""
    order = {layer.name: layer.order for layer in probe.layers}
    names = _LayerNames(getattr(probe.model, "name", "") or "", order)
    matched: dict[str, str] = {}
    candidates = [(out, run.values[out]) for op in run.ops for out in op.outputs if _float_array(run.values.get(out))]
    for var, value in candidates:
        layer = names.layer_of(run.labels.get(var, [var]))
        if layer is None or layer in skip or layer not in ref_values:
            continue
        if _views(ref_values[layer], value, run.channels_first):
            matched[layer] = var  # the last tensor named after the layer is its output
    if matched:
        return matched, "name"
    ref_seq = [(layer.name, ref_values[layer.name].shape) for layer in probe.layers if layer.name in ref_values and layer.name not in skip]
    return _match_by_position(ref_seq, [(v, a.shape) for v, a in candidates], run.channels_first), "position"


def _match_by_position(ref_seq, cand_seq, channels_first: bool) -> dict[str, str]:
    """Align runs of equal shapes (LCS over run keys) and match the ends of aligned runs."""
    def key(shape):
        shape = tuple(shape)
        return (shape[:1], tuple(sorted(shape[1:]))) if channels_first and len(shape) >= 3 else shape

    def runs(seq):
        out = []
        for item, shape in seq:
            if out and out[-1][0] == key(shape):
                out[-1][1].append((item, shape))
            else:
                out.append((key(shape), [(item, shape)]))
        return out

    ref_runs, cand_runs = runs(ref_seq), runs(cand_seq)
    n, m = len(ref_runs), len(cand_runs)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if ref_runs[i][0] == cand_runs[j][0] else max(table[i + 1][j], table[i][j + 1])
    matched, i, j = {}, 0, 0
    while i < n and j < m:
        if ref_runs[i][0] == cand_runs[j][0]:
            layer, shape = ref_runs[i][1][-1]
            dummy = np.empty(shape, np.float32)
            for var, cshape in reversed(cand_runs[j][1]):
                if _views(dummy, np.empty(cshape, np.float32), channels_first):
                    matched[layer] = var
                    break
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return matched


# -- comparing ---------------------------------------------------------------------------------
def _value_tolerance(tolerance: Tolerance, precision: str) -> Tolerance:
    """The value gates of `tolerance`; the generic ones for `precision` when it has none."""
    from mobilekit.parity.tolerances import GENERIC

    if tolerance.max_abs is None and tolerance.mean_abs is None and tolerance.min_psnr is None:
        return GENERIC.get(precision, GENERIC["fp32"])
    return Tolerance(max_abs=tolerance.max_abs, mean_abs=tolerance.mean_abs, min_psnr=tolerance.min_psnr)


def _scaled(tol: Tolerance, scale: float) -> Tolerance:
    if scale <= 1.0:
        return tol
    return Tolerance(max_abs=tol.max_abs * scale if tol.max_abs else None,
                     mean_abs=tol.mean_abs * scale if tol.mean_abs else None, min_psnr=tol.min_psnr)


class _Checker:
    """Compares points against the tolerance, memoized; counts comparisons."""

    def __init__(self, run: _CandidateRun, tol: Tolerance, out_peak: float):
        self.run, self.tol, self.out_peak = run, tol, out_peak
        self.results: dict[int, tuple[bool, dict]] = {}
        self.comparisons = 0
        self.points: list[_Point] = []

    def candidate(self, point: _Point) -> np.ndarray:
        return self.run.outputs[point.var] if point.is_output else self.run.values[point.var]

    def check(self, i: int) -> tuple[bool, dict]:
        if i not in self.results:
            self.comparisons += 1
            self.results[i] = self._compare(self.points[i])
        return self.results[i]

    def fails(self, i: int) -> bool:
        return self.check(i)[0]

    def _compare(self, point: _Point) -> tuple[bool, dict]:
        ref = point.ref
        views = _views(ref, self.candidate(point), self.run.channels_first) or [self.candidate(point)]
        if not finite(ref):
            return True, {"failures": ["reference contains NaN/Inf"]}
        peak = float(np.abs(ref).max(initial=0.0))
        tol = _scaled(self.tol, peak / self.out_peak if self.out_peak > 0 else 1.0)
        best = None
        for view in views:
            if view.shape != ref.shape:
                metrics = {"failures": [f"shape {view.shape} vs reference {ref.shape}"]}
            elif not finite(view):
                metrics = {"max_abs": None, "failures": ["candidate contains NaN/Inf"]}
            else:
                metrics = compare_values(ref, view)
                metrics["failures"] = _gate(metrics, tol)
            rank = (bool(metrics["failures"]), metrics.get("max_abs") if metrics.get("max_abs") is not None else math.inf)
            if best is None or rank < best[0]:
                best = (rank, metrics)
        metrics = best[1]
        return bool(metrics["failures"]), metrics


# -- one case ----------------------------------------------------------------------------------
def _localize_case(ctx, probe: _ReferenceProbe, case_inputs, ref_out: dict[str, np.ndarray], run: _CandidateRun,
                   tol: Tolerance, precision: str) -> Divergence | None:
    order = {layer.name: layer.order for layer in probe.layers}
    names = [t.name for t in ctx.io.outputs]
    out_layers = list(probe.output_layers) + [None] * len(names)
    output_points = []
    for k, name in enumerate(names):
        layer = name if name in order else out_layers[k] if out_layers[k] in order else None
        position = order[layer] if layer is not None else len(order) + k
        ltype = probe.by_name[layer].type if layer is not None else "output"
        output_points.append(_Point(layer, ltype, position, np.asarray(ref_out[name]), name, is_output=True))
    out_peak = max((float(np.abs(p.ref).max(initial=0.0)) for p in output_points if finite(p.ref)), default=1.0)
    checker = _Checker(run, tol, out_peak)

    # The earliest failing output (topologically) bounds the search.
    checker.points = sorted(output_points, key=lambda p: p.order)
    failing = [i for i in range(len(checker.points)) if checker.fails(i)]
    if not failing:
        return None
    end = checker.points[failing[0]]

    ref_values = probe.run(case_inputs)
    output_layer_names = {p.layer for p in output_points if p.layer is not None}
    matched, matched_by = _match(probe, ref_values, run, output_layer_names)
    scope = probe.ancestors(end.layer) if end.layer is not None else set(matched)
    points = [_Point(layer, probe.by_name[layer].type, order[layer], ref_values[layer], var)
              for layer, var in matched.items() if layer in scope]
    points.sort(key=lambda p: p.order)
    points.append(end)

    parents = _point_parents(probe, points)
    search = _Checker(run, tol, out_peak)
    search.points = points
    search.comparisons = checker.comparisons  # the output checks count too
    search.results[len(points) - 1] = checker.check(failing[0])  # known to fail
    index = first_divergent_point(parents, search.fails)
    point = points[index]
    _, metrics = search.check(index)
    stop = {_var_of(p, run) for p in points if p.order < point.order}
    segment = _segment(run, _var_of(point, run), stop)
    return _report(probe, ref_values, run, point, index, len(points), metrics, segment, search.comparisons,
                   matched_by, len(matched), precision)


def _point_parents(probe: _ReferenceProbe, points: list[_Point]) -> list[list[int]]:
    """For each point, the indices of its nearest ancestors among the points (through unmatched
    layers of the Keras graph). The last point (the failing output) without a layer of its own
    gets the points no other point depends on."""
    index = {p.layer: i for i, p in enumerate(points) if p.layer is not None}
    memo: dict[str, set[int]] = {}

    def nearest(layer: str) -> set[int]:
        if layer not in memo:
            memo[layer] = set()
            found = set()
            for parent in probe.by_name[layer].parents if layer in probe.by_name else ():
                found |= {index[parent]} if parent in index else nearest(parent)
            memo[layer] = found
        return memo[layer]

    parents = [sorted(j for j in nearest(p.layer) if j < i) if p.layer is not None else [] for i, p in enumerate(points)]
    if points and points[-1].layer is None:
        used = {j for ps in parents for j in ps}
        parents[-1] = [j for j in range(len(points) - 1) if j not in used]
    return parents


def _var_of(point: _Point, run: _CandidateRun) -> str:
    return run.output_vars.get(point.var, point.var) if point.is_output else point.var


def _segment(run: _CandidateRun, var: str, stop: set[str]) -> list[_Op]:
    """The ops computing `var` from the previous points' tensors (`stop`), in program order."""
    producer = {out: i for i, op in enumerate(run.ops) for out in op.outputs}
    seen, stack = set(), [var]
    while stack:
        v = stack.pop()
        i = producer.get(v)
        if i is None or i in seen or (v in stop and v != var):
            continue
        seen.add(i)
        stack.extend(n for names in run.ops[i].inputs.values() for n in names if n in run.dynamic)
    return [run.ops[i] for i in sorted(seen)]


def _dynamic_inputs(op: _Op, run: _CandidateRun) -> list[str]:
    return [n for names in op.inputs.values() for n in names if n in run.dynamic]


def _has_weight(op: _Op, run: _CandidateRun) -> bool:
    for names in op.inputs.values():
        for n in names:
            value = run.values.get(n)
            if n not in run.dynamic and _float_array(value) and value.size > 1:
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


def _fp16_analysis(probe, ref_values, run: _CandidateRun, point: _Point, segment: list[_Op]):
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


def _report(probe, ref_values, run: _CandidateRun, point: _Point, index: int, of: int, metrics: dict,
            segment: list[_Op], comparisons: int, matched_by: str, matched: int, precision: str) -> Divergence:
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
        chosen, suspects = (computing[-1], computing) if computing else (_Op(point.var, "?", {}, [point.var]), [])
    if not (overflow or subnormal):
        keep = []  # values elsewhere may leave the range, but they are not why this point diverges
    elif not keep:
        keep = [op.name for op in computing]  # no shadow values (or only subnormals): the segment
    suggestion = fp16.keep_fp32_suggestion(keep) if keep and run.target == "coreml" else None  # a coremltools setting

    input_ranges = {}
    for param, names in chosen.inputs.items():
        for k, n in enumerate(names):
            if n in run.values and (n in run.dynamic or _float_array(run.values[n])):  # not int parameters
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
        tensor=run.display.get(_var_of(point, run), point.var), candidate_ops=[op.name for op in segment],
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
