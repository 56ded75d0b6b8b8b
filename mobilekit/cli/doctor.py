"""`mobilekit doctor`: toolchain versions and what this machine can and cannot verify."""
from __future__ import annotations

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command


def doctor_command(json_mode: bool = JsonOpt, quiet: bool = QuietOpt) -> None:
    """List toolchain versions and which runtimes/checks are available here."""

    def action(reporter):
        from mobilekit.pipeline.doctor import diagnose

        return diagnose()

    def human(s):
        lines = ["toolchain:"] + [f"  {k}: {v or 'not installed'}" for k, v in s["toolchain"].items()]
        lines.append("capabilities:")
        lines += [f"  {'✓' if c['available'] else '✗'} {c['name']}: {c['detail']}" for c in s["capabilities"]]
        return "\n".join(lines)

    run_command(action, json_mode, quiet, human, lambda s: 0 if s["required_ok"] else 3)
