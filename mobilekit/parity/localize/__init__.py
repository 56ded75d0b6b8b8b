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

Modules: `probe` (1), the runners' `run_with_intermediates` (2), `matching` (3), `search` (4),
`report` (5); `locate` runs one case through them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from mobilekit.core.config import Tolerance
from mobilekit.core.errors import InputError
from mobilekit.parity.localize.locate import localize_case, value_tolerance
from mobilekit.parity.localize.probe import ReferenceProbe
from mobilekit.parity.localize.report import Divergence
from mobilekit.parity.localize.search import bisect_first_failing, first_divergent_point
from mobilekit.parity.runners import litert, mil_executor
from mobilekit.parity.runners.intermediates import CandidateRun

__all__ = ["Divergence", "LocalizeError", "bisect_first_failing", "first_divergent_point", "localize_divergence"]


class LocalizeError(InputError):
    """The artifact cannot be localized (unknown target, unreadable program)."""


def localize_divergence(ctx, artifact_path: Path | str, inputs: Mapping[str, np.ndarray], tolerance: Tolerance,
                        precision: str) -> Divergence | None:
    """The first op of `artifact_path` whose output leaves the reference by more than `tolerance`,
    on the first case of `inputs` (arrays with a leading case axis) whose outputs fail; None when
    no case fails on the value gates (max_abs / mean_abs / min_psnr; a task-metric-only failure
    has no per-op counterpart). TFLite is re-run with builtin kernels to keep intermediates, so a
    failure that only XNNPACK produces is not reproduced here (None). Raises LocalizeError for
    targets without a localizer."""
    from mobilekit.convert.base import target_of
    from mobilekit.convert.context import reference_outputs

    artifact = Path(artifact_path)
    target = target_of(artifact)
    runner = _CANDIDATES.get(target)
    if runner is None:
        raise LocalizeError(f"no divergence localizer for {target} artifacts (have: {', '.join(sorted(_CANDIDATES))})")
    tol = value_tolerance(tolerance, precision)
    probe = ReferenceProbe.build(ctx.model)
    count = len(next(iter(inputs.values())))
    for case in range(count):
        case_inputs = {n: np.asarray(a[case : case + 1], np.float32) for n, a in inputs.items()}
        ref_out = reference_outputs(ctx, case_inputs)
        with np.errstate(over="ignore", invalid="ignore"):  # fp16 overflow is what we look for
            run = _by_output_name(runner(artifact, case_inputs, ctx.io, precision), [t.name for t in ctx.io.outputs])
        div = localize_case(ctx, probe, case_inputs, ref_out, run, tol, precision)
        if div is not None:
            div.case, div.target, div.precision = case, target, precision
            return div
    return None


# Each target's runner of one case with its intermediate tensors.
_CANDIDATES: dict[str, Callable[..., CandidateRun]] = {"coreml": mil_executor.run_with_intermediates,
                                                       "tflite": litert.run_with_intermediates}


def _by_output_name(run: CandidateRun, names: list[str]) -> CandidateRun:
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
