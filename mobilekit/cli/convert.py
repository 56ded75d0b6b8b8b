"""`mobilekit convert coreml|tflite|onnx`."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command


class TargetChoice(str, Enum):
    coreml = "coreml"
    tflite = "tflite"
    onnx = "onnx"


def convert_command(
    target: TargetChoice = typer.Argument(..., help="Conversion target."),
    model: Path = typer.Option(..., "--model", "-m", help="Reference model: .keras, .h5 or a SavedModel directory."),
    out: Path = typer.Option(Path("converted"), "--out", "-o", help="Output directory."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code (Lambda, custom classes)."),
    precision: Optional[str] = typer.Option(None, "--precision", help="fp32 or fp16 (default: the target's configured precision; "
                                            "Core ML fp16, TFLite and ONNX fp32). Pass the same to `parity --precision`."),
    allow_nonfinite_weights: bool = typer.Option(False, "--allow-nonfinite-weights",
                                                 help="Convert even if weights hold NaN/Inf (refused by default, exit 2)."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Convert a reference model. Models trained by mobilekit carry their I/O contract in model.json.
    A model whose weights hold NaN/Inf is refused (exit 2, naming each weight) unless --allow-nonfinite-weights."""

    def action(reporter):
        from mobilekit.convert.context import load_context
        from mobilekit.convert.request import convert_artifact, convert_request

        ctx = load_context(model, trust=trust_model)
        reporter.stage(f"converting {model} to {target.value}")
        artifact = convert_artifact(ctx, target.value, out, convert_request(ctx, target.value, precision=precision),
                                    allow_nonfinite=allow_nonfinite_weights)
        summary = {"artifacts": [str(artifact.path)], "target": artifact.target, "precision": artifact.precision}
        if nonfinite := artifact.details.get("nonfinite_weights"):
            reporter.warn(f"converted a model whose weights hold NaN/Inf (parity will fail): {'; '.join(nonfinite[:5])}")
            summary["nonfinite_weights"] = nonfinite
        return summary

    run_command(action, json_mode, quiet, lambda s: "\n".join(f"artifact: {a}" for a in s["artifacts"]))
