"""What every command shares: --json/--quiet output modes and typed-error → exit-code mapping."""
from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from typing import Any, Callable

import typer

from mobilekit.core.errors import GateFailed, MobilekitError
from mobilekit.core.progress import Reporter, RichReporter, SilentReporter

JsonOpt = typer.Option(False, "--json", help="Print a machine-readable JSON summary as the last line of stdout.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress output; errors only.")


def _quiet_libraries() -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TQDM_DISABLE"] = "1"
    warnings.filterwarnings("ignore")
    for name in ("coremltools", "tensorflow", "absl", "tf2onnx", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


def reporter_for(json_mode: bool, quiet: bool) -> Reporter:
    return SilentReporter() if (json_mode or quiet) else RichReporter()


def emit(summary: dict[str, Any], json_mode: bool, human: Callable[[dict[str, Any]], str]) -> None:
    if json_mode:
        sys.stdout.write(json.dumps(summary, sort_keys=True, default=str) + "\n")
    else:
        sys.stdout.write(human(summary) + "\n")
    sys.stdout.flush()


def run_command(action: Callable[[Reporter], dict[str, Any]], json_mode: bool, quiet: bool,
                human: Callable[[dict[str, Any]], str], exit_code: Callable[[dict[str, Any]], int] = lambda s: 0) -> None:
    """Run `action`, print its summary, map typed errors to exit codes (0/1/2/3)."""
    _quiet_libraries()
    reporter = reporter_for(json_mode, quiet)
    try:
        summary = action(reporter)
    except MobilekitError as exc:
        reporter.close()
        details = exc.details if isinstance(exc, GateFailed) else {}
        sys.stderr.write(f"error: {exc}\n")
        if json_mode:
            sys.stdout.write(json.dumps({"error": str(exc), "exit_code": exc.exit_code, **details}, sort_keys=True, default=str) + "\n")
        raise typer.Exit(exc.exit_code) from None
    reporter.close()
    for message in getattr(reporter, "warnings", []):
        if not json_mode:
            sys.stderr.write(f"warning: {message}\n")
    emit(summary, json_mode, human)
    raise typer.Exit(exit_code(summary))
