"""`mobilekit qa fixtures|ingest` (also reachable as `mobilekit parity fixtures|ingest`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperCommand

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command
from mobilekit.core.errors import EXIT_GATE_FAILED, EXIT_OK

app = typer.Typer(help="Device QA: golden fixtures in a bundle, and checking what devices produce on them.", no_args_is_help=True)
SUBCOMMANDS = ("fixtures", "ingest")


@app.command("fixtures")
def fixtures_command(
    bundle: Path = typer.Option(..., "--bundle", "-b", help="Bundle zip to add fixtures to."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="The config that built the bundle (default: the embedded one); its reference is re-trained, or reused from the cache."),
    reference: Optional[Path] = typer.Option(None, "--reference", "-r", help="Use this trained reference model instead of --config."),
    cases: Optional[int] = typer.Option(None, "--cases", "-n", min=1, max=256, help="Number of golden cases (default: the config's parity_samples)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the bundle with fixtures here (default: replace --bundle atomically)."),
    self_check: bool = typer.Option(True, "--self-check/--no-self-check", help="Run the bundled artifacts on the goldens first (their gate runners)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow layers that deserialize code (--reference)."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Write golden inputs, TensorFlow reference outputs and tolerances into the bundle under fixtures/
    (docs/device-qa.md). Exit 0 written, 1 the bundle's artifacts disagree with the reference, 2 bad input."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.qa.fixtures import add_fixtures

        return add_fixtures(bundle, config_path=config, reference=reference, cases=cases, out=out, trust=trust_model,
                            self_check=self_check, reporter=reporter)

    def human(s: dict[str, Any]) -> str:
        checks = "".join(f"\n  self-check {p}: {c['status']} ({c['runner']})" for p, c in s["self_check"].items())
        return f"{s['bundle']}: {s['cases']} golden case(s), {len(s['fixtures'])} fixture files{checks}"

    run_command(action, json_mode, quiet, human)


@app.command("ingest")
def ingest_command(
    bundle: Path = typer.Option(..., "--bundle", "-b", help="Bundle zip with fixtures/ (see `qa fixtures`)."),
    outputs: Path = typer.Option(..., "--outputs", "-d", help="Directory the device wrote: <case>/<output>.bin (+ optional device.json)."),
    artifact: Optional[str] = typer.Option(None, "--artifact", "-a", help="Which bundled artifact ran (path, file name or target); default: device.json's, or the only one."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Write parity.json, junit.xml and report.html here."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Compare a device's outputs on the fixtures with the goldens, per case and overall, with the
    artifact's parity tolerance. Exit 0 passed, 1 failed, 2 missing/misshapen/corrupt files or bad arguments."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.qa.ingest import ingest

        return ingest(bundle, outputs, artifact=artifact, report_dir=report_dir, reporter=reporter)

    from mobilekit.qa.ingest import human_summary

    run_command(action, json_mode, quiet, human_summary, lambda s: EXIT_OK if s["passed"] else EXIT_GATE_FAILED)


class ParityCommand(TyperCommand):
    """`mobilekit parity` that also answers `mobilekit parity fixtures|ingest ...` (the `qa` commands).

    `parity` itself takes options only, so a first argument naming a QA command is never a valid
    `parity` invocation: dispatching on it leaves `parity --reference R --candidate X` unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog = self.epilog or "Device QA: `mobilekit parity fixtures|ingest` (same as `mobilekit qa fixtures|ingest`)."

    def make_context(self, info_name, args, parent=None, **extra):  # noqa: ANN001  (click's signature)
        if args and args[0] in SUBCOMMANDS:
            command = typer.main.get_command(app).get_command(parent, args[0])  # type: ignore[union-attr]
            return command.make_context(f"{info_name} {args[0]}", list(args[1:]), parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)
