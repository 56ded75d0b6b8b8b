"""Parity checks in the order that makes failures readable: names, then shapes, then values."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from mobilekit.core.config import Tolerance
from mobilekit.parity.metrics import compare_values, finite

if TYPE_CHECKING:
    from mobilekit.core.family import TaskMetric


@dataclass
class OutputParity:
    name: str
    passed: bool
    max_abs: float | None = None
    mean_abs: float | None = None
    max_rel: float | None = None
    cosine: float | None = None
    psnr: float | None = None
    failures: list[str] = field(default_factory=list)


@dataclass
class ParityResult:
    """The verdict for one candidate artifact against the reference."""

    target: str
    precision: str
    runner: str
    status: str  # "passed" | "failed" | "not_run"
    tolerance: dict[str, Any]
    checks: list[str] = field(default_factory=list)  # one ✓/✗ line per check
    outputs: list[OutputParity] = field(default_factory=list)
    task_metrics: list[dict[str, Any]] = field(default_factory=list)  # per output with a family task metric
    cases: int = 0
    note: str = ""
    divergence: dict[str, Any] | None = None  # first divergent op, when a failed check was localized
    candidate_outputs: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # arrays; not serialized

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, candidate_outputs=None))
        data.pop("candidate_outputs")
        data["passed"] = self.passed
        return data


def _gate(metrics: dict[str, float | None], tol: Tolerance) -> list[str]:
    failures = []
    if tol.max_abs is not None and metrics["max_abs"] > tol.max_abs:
        failures.append(f"max_abs {metrics['max_abs']:.3g} > {tol.max_abs:.3g}")
    if tol.mean_abs is not None and metrics["mean_abs"] > tol.mean_abs:
        failures.append(f"mean_abs {metrics['mean_abs']:.3g} > {tol.mean_abs:.3g}")
    if tol.min_psnr is not None and metrics["psnr"] is not None and metrics["psnr"] < tol.min_psnr:
        failures.append(f"psnr {metrics['psnr']:.1f} dB < {tol.min_psnr:.1f} dB")
    return failures


def _task_bound(tolerance: Tolerance, higher_is_better: bool) -> tuple[str, float | None]:
    """The bound that applies to a task metric: `min_task_metric` for higher-is-better metrics,
    `max_task_metric` for lower-is-better ones (a table can declare both for a model with both kinds)."""
    return ("min", tolerance.min_task_metric) if higher_is_better else ("max", tolerance.max_task_metric)


def _nonfinite_counts(array: np.ndarray) -> str:
    values = np.asarray(array)
    if values.dtype.kind not in "fc":
        return f"0 NaN / 0 Inf of {values.size} values"
    return f"{int(np.count_nonzero(np.isnan(values)))} NaN / {int(np.count_nonzero(np.isinf(values)))} Inf of {values.size} values"


def _nonfinite_reference(name: str, reference: np.ndarray, candidate: np.ndarray) -> str:
    """The reference is at fault: say so, and whether the candidate reproduces it."""
    message = (f"reference output contains NaN/Inf: the TensorFlow reference output {name} holds {_nonfinite_counts(reference)}: "
               "the reference model is broken, not the candidate")
    if not finite(candidate):
        message += f" (the candidate reproduces it: {_nonfinite_counts(candidate)})"
    return message


def compare_outputs(reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray], tolerance: Tolerance, *,
                    target: str, precision: str, runner: str,
                    task_metrics: Mapping[str, "TaskMetric"] | None = None,
                    inputs: Mapping[str, np.ndarray] | None = None) -> ParityResult:
    """Names, then shapes, then values of every output under its own tolerance (`Tolerance.for_output`),
    then the family's task metric of each output that has one. NaN/Inf never pass: in the reference
    the failure says the reference model is broken (not the candidate), in the candidate alone it
    says the candidate holds them; both fail with their NaN and Inf counts."""
    result = ParityResult(target, precision, runner, "failed", tolerance.model_dump(exclude_none=True))
    result.cases = len(next(iter(reference.values()))) if reference else 0
    ref_names, cand_names = sorted(reference), sorted(candidate)
    if ref_names != cand_names:
        result.checks.append(f"✗ output names: reference {ref_names} vs candidate {cand_names}")
        return result
    result.checks.append(f"✓ output names: {ref_names}")
    shapes_ok = True
    for name in ref_names:
        ok = reference[name].shape == candidate[name].shape
        shapes_ok &= ok
        result.checks.append(f"{'✓' if ok else '✗'} shape of {name}: {reference[name].shape} vs {candidate[name].shape}")
    if not shapes_ok:
        return result
    all_ok = True
    for name in ref_names:
        if not finite(reference[name]):
            out = OutputParity(name, False, failures=[_nonfinite_reference(name, reference[name], candidate[name])])
        elif not finite(candidate[name]):
            out = OutputParity(name, False, failures=[
                f"candidate output contains NaN/Inf: the candidate's output {name} holds {_nonfinite_counts(candidate[name])} "
                "while the TensorFlow reference is finite: the converted model is broken"])
        else:
            metrics = compare_values(reference[name], candidate[name])
            failures = _gate(metrics, tolerance.for_output(name))
            out = OutputParity(name, not failures, failures=failures, **metrics)
        all_ok &= out.passed
        result.outputs.append(out)
        detail = "; ".join(out.failures) if out.failures else f"max_abs {out.max_abs:.3g}, psnr {'exact' if out.psnr is None else f'{out.psnr:.1f} dB'}"
        result.checks.append(f"{'✓' if out.passed else '✗'} values of {name}: {detail}")
    for name, metric in sorted((task_metrics or {}).items()):
        if name not in reference or not (finite(reference[name]) and finite(candidate[name])):
            continue
        kind, bound = _task_bound(tolerance.for_output(name), metric.spec.higher_is_better)
        value = metric.value(reference[name], candidate[name], inputs)
        if value is None:
            result.checks.append(f"- task metric {metric.spec.name} of {name}: not computed (it needs the inputs)")
            continue
        ok = bound is None or metric.spec.within(value, bound)
        all_ok &= ok
        result.task_metrics.append({"output": name, "name": metric.spec.name, "value": value, "direction": metric.spec.direction,
                                    kind: bound, "passed": ok})
        result.checks.append(f"{'✓' if ok else '✗'} task metric {metric.spec.name} of {name}: {value:.4g}"
                             + (f" ({kind} {bound})" if bound is not None else ""))
    result.status = "passed" if all_ok else "failed"
    return result


def not_run(target: str, precision: str, tolerance: Tolerance, reason: str) -> ParityResult:
    """An honest record that a check did not run; never counts as passed."""
    return ParityResult(target, precision, "none", "not_run", tolerance.model_dump(exclude_none=True), checks=[f"- not run: {reason}"], note=reason)
