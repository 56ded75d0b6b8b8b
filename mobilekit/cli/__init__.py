"""The `mobilekit` command: thin Typer sub-apps over library functions."""
from __future__ import annotations

import typer

from mobilekit.cli import bundle, data_service, dataset, optimize, qa
from mobilekit.cli.build import build_command
from mobilekit.cli.convert import convert_command
from mobilekit.cli.coverage import coverage_command
from mobilekit.cli.doctor import doctor_command
from mobilekit.cli.evaluate import eval_command, predict_app
from mobilekit.cli.parity import parity_command
from mobilekit.cli.train import train_command

app = typer.Typer(name="mobilekit", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Train, compress, convert and parity-check on-device vision models.")
app.command("build")(build_command)
app.command("train")(train_command)
app.command("convert")(convert_command)
app.command("coverage")(coverage_command)
app.command("parity", cls=qa.ParityCommand)(parity_command)  # + `parity fixtures|ingest` (= `qa ...`)
app.command("doctor")(doctor_command)
app.command("eval")(eval_command)
app.add_typer(bundle.app, name="bundle")
app.add_typer(dataset.app, name="dataset")
app.add_typer(data_service.app, name="data-service")
app.add_typer(qa.app, name="qa")
app.add_typer(predict_app, name="predict")
app.add_typer(optimize.app, name="optimize")


def main() -> None:
    app()
