"""`mobilekit coverage --model M [--target coreml|tflite|all]`: what every op becomes, per target."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command
from mobilekit.core.errors import EXIT_GATE_FAILED, EXIT_OK


class CoverageTarget(str, Enum):
    coreml = "coreml"
    tflite = "tflite"
    all = "all"


def _human(summary: dict) -> str:
    targets = list(summary["targets"])
    lines = [f"{'op':<28} " + " ".join(f"{t:<44}" for t in targets)]
    cells: dict[str, dict[str, list[str]]] = {}
    for target, cov in summary["targets"].items():
        for row in cov["ops"]:
            if row.get("introduced_by"):
                continue
            label = row["status"] + (f" ({row.get('class_name') or row.get('flex_op') or row.get('rule')})" if row["status"] not in ("native", "unsupported") else "")
            cells.setdefault(row["op"], {}).setdefault(target, []).append(f"{label} x{row['count']}")
    for op in sorted(cells, key=lambda o: (all(c.startswith("native") for v in cells[o].values() for c in v), o)):
        lines.append(f"{op:<28} " + " ".join(f"{'; '.join(cells[op].get(t, ['-'])):<44}" for t in targets))
    for target, cov in summary["targets"].items():
        for row in cov["unsupported"]:
            lines.append(f"UNSUPPORTED on {target}: {row['op']} at {', '.join(row['nodes'])}")
            lines.extend(f"    - {reason}" for reason in row.get("reasons", []))
    lines.append("all ops convert" if summary["supported"] else "some ops cannot be converted (exit 1)")
    return "\n".join(lines)


def coverage_command(
    model: Path = typer.Option(..., "--model", "-m", help="Reference model: .keras, .h5 or a SavedModel directory."),
    target: CoverageTarget = typer.Option(CoverageTarget.all, "--target", "-t", help="Target to check (or all)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code (Lambda, custom classes)."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """List every op of the traced model and its route per target: native, decomposed (rule), composite
    (taught to the converter), custom kernel (Core ML custom layer class / TFLite Select TF op) or
    unsupported. Exit 1 if any op is unsupported. Which architectures convert: docs/coverage.md."""

    def action(reporter):
        from mobilekit.convert.coverage import TARGETS, coverage_report
        from mobilekit.convert.context import load_context

        ctx = load_context(model, trust=trust_model)
        targets = TARGETS if target is CoverageTarget.all else (target.value,)
        reporter.stage(f"tracing {model} and checking {', '.join(targets)}")
        return {"model": str(model), **coverage_report(ctx.model, ctx.io, targets).to_dict()}

    run_command(action, json_mode, quiet, _human, lambda s: EXIT_OK if s["supported"] else EXIT_GATE_FAILED)
