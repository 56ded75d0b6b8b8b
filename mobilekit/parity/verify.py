"""Verify a converted artifact against its reference: pick the runner, run, compare, and on
failure name the first divergent op."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.convert.base import target_of
from mobilekit.convert.context import ModelContext
from mobilekit.core.errors import InputError
from mobilekit.core.config import Tolerance
from mobilekit.parity.compare import ParityResult, compare_outputs, not_run
from mobilekit.parity.runners.base import RUNNERS, gate_runner
from mobilekit.parity.tolerances import tolerance_for

LOCALIZABLE_TARGETS = ("coreml", "tflite")


def runner_for_artifact(artifact: Path, runner: str | None = None):
    """The explicitly named runner, else the first available gate runner for the artifact's target."""
    target = target_of(artifact)
    if runner is not None:
        chosen = RUNNERS.get(runner)
        if chosen.target != target:
            raise InputError(f"runner {runner!r} runs {chosen.target} artifacts, not {artifact.name}")
        reason = chosen.unavailable_reason()
        return (None, [f"{runner}: {reason}"]) if reason else (chosen, [])
    return gate_runner(target)


def verify_artifact(ctx: ModelContext, artifact: Path, precision: str, inputs: dict[str, np.ndarray],
                    reference: dict[str, np.ndarray], runner: str | None = None, function: str | None = None,
                    tolerance: Tolerance | None = None) -> ParityResult:
    """Run `artifact` (its `function`, for a multifunction Core ML package) on `inputs` and compare
    with `reference` under `tolerance` (default: the family's); a failure names the first divergent op."""
    target = target_of(artifact)
    tolerance = tolerance or tolerance_for(ctx.family, target, precision, ctx.config)
    chosen, skipped = runner_for_artifact(artifact, runner)
    if chosen is None:
        return not_run(target, precision, tolerance, "; ".join(skipped) or f"no runner registered for {target}")
    candidate = chosen.run(artifact, inputs, ctx.io, function)
    result = compare_outputs(reference, candidate, tolerance, target=target, precision=precision, runner=chosen.name,
                             task_metrics=ctx.family.task_metrics if ctx.family else None, inputs=inputs)
    result.candidate_outputs = candidate
    if function:
        result.note = f"function {function!r} of a multifunction package"
    if result.status == "failed" and target in LOCALIZABLE_TARGETS and not function:
        _localize(ctx, artifact, inputs, tolerance, precision, result)
    if skipped:
        result.note = "skipped: " + "; ".join(skipped)
    return result


def _localize(ctx: ModelContext, artifact: Path, inputs, tolerance, precision: str, result: ParityResult) -> None:
    """Name the first op whose error exceeds the tolerance (O(log n) comparisons), with fp16 range advice."""
    from mobilekit.parity.localize import LocalizeError, localize_divergence

    try:
        divergence = localize_divergence(ctx, artifact, inputs, tolerance, precision)
    except LocalizeError as exc:
        result.checks.append(f"- first divergent op not localized: {exc}")
        return
    if divergence is None:
        result.checks.append("- first divergent op: none found (only the task metric failed, or the failure needs XNNPACK)")
        return
    result.divergence = divergence.to_dict()
    result.checks.append(f"✗ {divergence.summary()}")
