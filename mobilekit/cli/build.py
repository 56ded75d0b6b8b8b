"""`mobilekit build ios|android|all`."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command


class PlatformChoice(str, Enum):
    ios = "ios"
    android = "android"
    all = "all"


def build_command(
    platform: PlatformChoice = typer.Argument(..., help="Which bundle(s) to build."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A model's config or an SDK model set (default: the embedded SDK set, configs/sdk.yaml: all three models)."),
    out: Path = typer.Option(Path("dist"), "--out", "-o", help="Directory the bundle zip(s) are published into."),
    unpacked: bool = typer.Option(False, "--unpacked", help="Also publish each bundle as an unpacked directory."),
    require_complete_parity: bool = typer.Option(False, "--require-complete-parity",
                                                 help="Fail (exit 1) when a parity gate cannot run on this machine."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Convert and gate again even when nothing changed since a verified build."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Train, convert, parity-check and bundle a model. Publishes only when every parity gate that ran passed."""
    from mobilekit.pipeline.build import build

    def action(reporter):
        return build(platform.value, config, out, reporter=reporter, unpacked=unpacked,
                     require_complete_parity=require_complete_parity, rebuild=rebuild).summary()

    def human(s):
        lines = [f"bundle: {b}" for b in s["bundles"]]
        if s["reused"]:
            lines.append("nothing changed since a verified build: its bundles were re-verified and published again (--rebuild to redo)")
        lines += [f"parity NOT verified on this machine: {k}" for k in s["not_verified"]]
        lines += [f"parity emulated, the real runtime did not run: {k} ({s['parity'][k].get('runner')})" for k in s["emulated"]]
        for name, model in s["models"].items():
            lines.append(f"quality of {name}: " + ", ".join(f"{k}={v:.3f}" for k, v in model["quality"].items()))
        return "\n".join(lines)

    run_command(action, json_mode, quiet, human)
