"""`mobilekit parity`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, get_args

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command
from mobilekit.core.config import Numerics
from mobilekit.core.errors import EXIT_ENVIRONMENT, EXIT_GATE_FAILED, EXIT_OK

NUMERICS = get_args(Numerics)  # the tolerance classes


def parity_command(
    reference: Path = typer.Option(..., "--reference", "-r", help="Reference model (.keras, .h5, SavedModel dir)."),
    candidate: Path = typer.Option(..., "--candidate", "-k", help="Converted artifact (.tflite, .mlpackage)."),
    runner: Optional[str] = typer.Option(None, "--runner", help="Runner to execute the candidate (default: the target's gate runner)."),
    precision: Optional[str] = typer.Option(None, "--precision",
                                            help="Tolerance profile: fp32, fp16, w8, int8 or lowbit (default: read from the artifact)."),
    samples: int = typer.Option(8, "--samples", min=1, max=256, help="Number of held-out inputs."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Write parity.json, junit.xml and report.html here."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Run the candidate and the TensorFlow reference on the same inputs; compare names, shapes, values.
    Exit 0 passed, 1 failed, 3 when no runner for the candidate can run on this machine."""

    def action(reporter):
        from mobilekit.core.errors import InputError
        from mobilekit.convert.context import load_context, parity_inputs, reference_outputs
        from mobilekit.parity.verify import verify_artifact

        if precision not in (None, *NUMERICS):
            raise InputError(f"--precision must be one of {', '.join(NUMERICS)}, got {precision!r}")
        if not candidate.exists():
            raise InputError(f"{candidate}: candidate not found")
        from mobilekit.nn.model_files import validate_model_file

        validate_model_file(candidate)  # a truncated or garbage artifact: exit 2 naming it, before any runner
        from mobilekit.parity.numerics import artifact_numerics as artifact_precision

        profile = precision or artifact_precision(candidate)
        ctx = load_context(reference, trust=trust_model)
        inputs = parity_inputs(ctx, samples)
        expected = reference_outputs(ctx, inputs)
        result = verify_artifact(ctx, candidate, profile, inputs, expected, runner)
        for line in result.checks:
            reporter.stage(line)
        data = result.to_dict()
        if report_dir is not None:
            from mobilekit.parity.report import ReportEntry, write_reports

            paths = write_reports([ReportEntry(candidate.name, result, inputs, expected, result.candidate_outputs)], report_dir)
            data["reports"] = {k: str(v) for k, v in paths.items()}
        data["outputs"] = [{k: o[k] for k in ("name", "max_abs", "mean_abs", "max_rel", "cosine", "psnr", "passed", "failures")}
                           for o in data["outputs"]]
        return data

    def code(s):
        return {"passed": EXIT_OK, "failed": EXIT_GATE_FAILED}.get(s["status"], EXIT_ENVIRONMENT)

    run_command(action, json_mode, quiet, lambda s: "\n".join(s["checks"] + [f"parity {s['status']} (runner: {s['runner']})"]), code)
