"""`mobilekit bundle verify`."""
from __future__ import annotations

from pathlib import Path

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command

app = typer.Typer(help="Inspect and verify bundles.", no_args_is_help=True)


@app.command("verify")
def verify_command(bundle: Path = typer.Argument(..., help="Bundle zip."), json_mode: bool = JsonOpt, quiet: bool = QuietOpt) -> None:
    """Re-hash every file and validate the manifest schema. Exit 1 on any mismatch."""

    def action(reporter):
        from mobilekit.bundle.reader import verify_bundle

        result = verify_bundle(bundle)
        return {"bundle": str(bundle), "ok": result.ok, "problems": result.problems,
                "files": len((result.manifest or {}).get("files", {}))}

    run_command(action, json_mode, quiet,
                lambda s: f"{'OK' if s['ok'] else 'MISMATCH'}: {s['bundle']} ({s['files']} files)" + "".join(f"\n  ✗ {p}" for p in s["problems"]),
                lambda s: 0 if s["ok"] else 1)
