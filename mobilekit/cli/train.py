"""`mobilekit train`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command


def train_command(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Build config YAML (default: the embedded one)."),
    out: Path = typer.Option(Path("runs/train"), "--out", "-o", help="Directory for model.keras, model.json and checkpoints."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Train the reference TensorFlow model (seeded, deterministic, cached by training config)."""
    from mobilekit.core.config import load_config

    def action(reporter):
        cfg, _ = load_config(config)
        from mobilekit.train.trainer import train

        result = train(cfg, out, progress=reporter.progress)
        return {"model": str(result.model_path), "params": result.params, "seconds": round(result.seconds, 2),
                "cached": result.cached, "final_loss": result.final_loss}

    run_command(action, json_mode, quiet, lambda s: f"model: {s['model']} ({s['params']} parameters{', cached' if s['cached'] else ''})")
