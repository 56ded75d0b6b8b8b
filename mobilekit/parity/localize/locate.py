"""One case: compare the outputs, match and search the points, and report the first divergent op."""
from __future__ import annotations

import math

import numpy as np

from mobilekit.core.config import Tolerance
from mobilekit.parity.compare import _gate
from mobilekit.parity.localize.matching import Point, match, var_of, views
from mobilekit.parity.localize.probe import ReferenceProbe
from mobilekit.parity.localize.report import Divergence, report
from mobilekit.parity.localize.search import first_divergent_point, point_parents
from mobilekit.parity.metrics import compare_values, finite
from mobilekit.parity.runners.intermediates import CandidateRun, RunOp


def value_tolerance(tolerance: Tolerance, precision: str) -> Tolerance:
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

    def __init__(self, run: CandidateRun, tol: Tolerance, out_peak: float):
        self.run, self.tol, self.out_peak = run, tol, out_peak
        self.results: dict[int, tuple[bool, dict]] = {}
        self.comparisons = 0
        self.points: list[Point] = []

    def candidate(self, point: Point) -> np.ndarray:
        return self.run.outputs[point.var] if point.is_output else self.run.values[point.var]

    def check(self, i: int) -> tuple[bool, dict]:
        if i not in self.results:
            self.comparisons += 1
            self.results[i] = self._compare(self.points[i])
        return self.results[i]

    def fails(self, i: int) -> bool:
        return self.check(i)[0]

    def _compare(self, point: Point) -> tuple[bool, dict]:
        ref = point.ref
        laid_out = views(ref, self.candidate(point), self.run.channels_first) or [self.candidate(point)]
        if not finite(ref):
            return True, {"failures": ["reference contains NaN/Inf"]}
        peak = float(np.abs(ref).max(initial=0.0))
        tol = _scaled(self.tol, peak / self.out_peak if self.out_peak > 0 else 1.0)
        best = None
        for view in laid_out:
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


def localize_case(ctx, probe: ReferenceProbe, case_inputs, ref_out: dict[str, np.ndarray], run: CandidateRun,
                  tol: Tolerance, precision: str) -> Divergence | None:
    order = {layer.name: layer.order for layer in probe.layers}
    names = [t.name for t in ctx.io.outputs]
    out_layers = list(probe.output_layers) + [None] * len(names)
    output_points = []
    for k, name in enumerate(names):
        layer = name if name in order else out_layers[k] if out_layers[k] in order else None
        position = order[layer] if layer is not None else len(order) + k
        ltype = probe.by_name[layer].type if layer is not None else "output"
        output_points.append(Point(layer, ltype, position, np.asarray(ref_out[name]), name, is_output=True))
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
    matched, matched_by = match(probe, ref_values, run, output_layer_names)
    scope = probe.ancestors(end.layer) if end.layer is not None else set(matched)
    points = [Point(layer, probe.by_name[layer].type, order[layer], ref_values[layer], var)
              for layer, var in matched.items() if layer in scope]
    points.sort(key=lambda p: p.order)
    points.append(end)

    parents = point_parents(probe, points)
    search = _Checker(run, tol, out_peak)
    search.points = points
    search.comparisons = checker.comparisons  # the output checks count too
    search.results[len(points) - 1] = checker.check(failing[0])  # known to fail
    index = first_divergent_point(parents, search.fails)
    point = points[index]
    _, metrics = search.check(index)
    stop = {var_of(p, run) for p in points if p.order < point.order}
    segment = _segment(run, var_of(point, run), stop)
    return report(probe, ref_values, run, point, index, len(points), metrics, segment, search.comparisons,
                  matched_by, len(matched), precision)


def _segment(run: CandidateRun, var: str, stop: set[str]) -> list[RunOp]:
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
