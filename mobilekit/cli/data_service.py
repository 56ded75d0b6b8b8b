"""`mobilekit data-service dispatcher|worker`: the standard tf.data service processes."""
from __future__ import annotations

import sys
from typing import Optional

import typer

app = typer.Typer(help="Run tf.data service processes: preprocessing on worker machines, training elsewhere.",
                  no_args_is_help=True)


def _ready(message: str) -> None:
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def _serve(action) -> None:
    from mobilekit.cli.common import _quiet_libraries

    _quiet_libraries()
    try:
        action()
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command("dispatcher")
def dispatcher_command(
    port: int = typer.Option(5050, "--port", min=0, max=65535, help="Port to listen on (0: any free port; printed)."),
    work_dir: Optional[str] = typer.Option(None, "--work-dir", help="Journal directory: a restarted dispatcher resumes its jobs."),
) -> None:
    """Start a dispatcher; prints its address (grpc://host:port) when it is ready, then serves until stopped."""
    from mobilekit.data.service import run_dispatcher

    _serve(lambda: run_dispatcher(port, work_dir=work_dir, on_ready=lambda target: _ready(f"dispatcher ready at {target}")))


@app.command("worker")
def worker_command(
    dispatcher: str = typer.Option(..., "--dispatcher", help="The dispatcher's host:port."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    worker_address: Optional[str] = typer.Option(None, "--worker-address", help="host:%port% the dispatcher tells trainers to reach this worker at."),
) -> None:
    """Start a worker of a dispatcher; it reads and preprocesses the shards of every job it is given."""
    from mobilekit.data.service import run_worker

    if ":" not in dispatcher:
        typer.echo(f"error: --dispatcher: {dispatcher!r} is not host:port", err=True)
        raise typer.Exit(2)
    _serve(lambda: run_worker(dispatcher, port, worker_address=worker_address, on_ready=lambda m: _ready(f"{m}: ready")))
