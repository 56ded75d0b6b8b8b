"""`mobilekit optimize sweep|prune|cluster|quantize|variants`."""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command

app = typer.Typer(no_args_is_help=True, help="Compress models: training-time passes, post-training quantization, sweeps.")

ModelOpt = typer.Option(..., "--model", "-m", help="A tf_keras model (.keras/.h5/SavedModel); mobilekit-trained models carry their config in model.json.")
DataOpt = typer.Option(None, "--data", help="Your own data for your own model: .npz with one float array per model input and 'targets'.")
TrustOpt = typer.Option(False, "--trust-model", help="Allow layers that deserialize code (Lambda, custom classes).")


class TargetChoice(str, Enum):
    coreml = "coreml"
    tflite = "tflite"


def _split_list(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@app.command("sweep")
def sweep_command(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Build config YAML (default: the embedded segmentation config)."),
    variants: Optional[str] = typer.Option(None, "--variants", help="Comma-separated variant names (default: optimize.variants, else all; see `optimize variants`)."),
    target: Optional[list[TargetChoice]] = typer.Option(None, "--target", "-t", help="Only variants of this target (repeatable)."),
    out: Path = typer.Option(Path("sweep"), "--out", "-o", help="Directory for sweep.json, sweep.csv, sweep.png and the variant artifacts."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Build every variant, measure size, task metric on held-out data and parity, and select the
    smallest per target within the config's budget. Exits 1 when a target has no variant within it."""
    from mobilekit.optimize.sweep import run_sweep

    def action(reporter):
        result = run_sweep(config, _split_list(variants), out, targets=[t.value for t in target] if target else None, reporter=reporter)
        summary = result.summary()
        summary["table"] = result.table()
        if not result.budget_met:
            sys.stderr.write(f"error: {result.unmet_message()}; nothing selected\n{result.table()}\n")
        return summary

    def human(s):
        lines = [s["table"], ""]
        lines += [f"note: {n}" for n in s["notes"]]
        lines += [f"selected {t}: {name or 'NONE within budget'}" for t, name in sorted(s["selected"].items())]
        lines += [f"{k}: {v}" for k, v in sorted(s["outputs"].items())]
        return "\n".join(lines)

    run_command(action, json_mode, quiet, human, exit_code=lambda s: 0 if s["budget"]["met"] else 1)


def _pass_command(pass_name: str, model: Path, out: Path, data, trust: bool, json_mode: bool, quiet: bool, overrides: dict) -> None:
    from mobilekit.optimize.steps import train_pass

    def action(reporter):
        reporter.stage(f"{pass_name}: fine-tuning {model}")
        return train_pass(pass_name, model, out, data=data, trust=trust, overrides=overrides)

    def human(s):
        lines = [f"model: {s['model']}", f"params: {s['params']}",
                 "report: " + ", ".join(f"{k}={v}" for k, v in s["report"].items() if k != "loss")]
        if s["metrics_before"]:
            lines.append("held-out: " + ", ".join(f"{k} {s['metrics_before'][k]:.4f} -> {s['metrics_after'][k]:.4f}" for k in s["metrics_before"]))
        return "\n".join(lines)

    run_command(action, json_mode, quiet, human)


@app.command("prune")
def prune_command(
    model: Path = ModelOpt,
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the pruned, stripped model (.keras)."),
    sparsity: Optional[float] = typer.Option(None, "--sparsity", min=0.01, max=0.99, help="Final sparsity (default optimize.prune.sparsity, 0.5)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Fine-tuning epochs while the sparsity ramps up."),
    data: Optional[Path] = DataOpt,
    trust_model: bool = TrustOpt,
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Magnitude pruning with a polynomial-decay schedule and fine-tuning (tfmot), then stripped."""
    _pass_command("prune", model, out, data, trust_model, json_mode, quiet, {"sparsity": sparsity, "fine_tune_epochs": epochs})


@app.command("cluster")
def cluster_command(
    model: Path = ModelOpt,
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the clustered, stripped model (.keras)."),
    clusters: Optional[int] = typer.Option(None, "--clusters", min=2, max=256, help="Distinct values per weight tensor (default 16)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=0, help="Fine-tuning epochs."),
    data: Optional[Path] = DataOpt,
    trust_model: bool = TrustOpt,
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Weight clustering with fine-tuning (tfmot); maps losslessly onto Core ML palettes."""
    _pass_command("cluster", model, out, data, trust_model, json_mode, quiet, {"clusters": clusters, "fine_tune_epochs": epochs})


@app.command("quantize")
def quantize_command(
    model: Path = ModelOpt,
    variant: str = typer.Option(..., "--variant", "-v", help="Variant to build, e.g. tflite-int8, tflite-dynamic-int8, coreml-int8, coreml-palette6 (see `optimize variants`)."),
    out: Path = typer.Option(Path("optimized"), "--out", "-o", help="Output directory."),
    data: Optional[Path] = DataOpt,
    trust_model: bool = TrustOpt,
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Build one compressed variant of a model, with its size accounting and parity against the model."""
    from mobilekit.optimize.steps import quantize

    def action(reporter):
        reporter.stage(f"building {variant} from {model}")
        return quantize(model, variant, out, data=data, trust=trust_model)

    def human(s):
        size = s["size"]
        return "\n".join([f"artifact: {s['artifact']}", f"bytes: {size['bytes']}  params: {size.get('params')}  "
                          f"bits/weight: {size.get('bits_per_weight')}  sparsity: {size.get('sparsity')}",
                          *s["parity"]["checks"], f"parity: {s['parity']['status']}"])

    run_command(action, json_mode, quiet, human, exit_code=lambda s: 1 if s["parity"]["status"] == "failed" else 0)


@app.command("variants")
def variants_command(json_mode: bool = JsonOpt) -> None:
    """List the registered variants."""
    from mobilekit.optimize.variants import ORDER, VARIANTS

    rows = [{"name": n, "target": VARIANTS.get(n).target, "description": VARIANTS.get(n).description,
             "steps": VARIANTS.get(n).steps, "expected_retention": VARIANTS.get(n).expected_retention} for n in ORDER]
    run_command(lambda reporter: {"variants": rows}, json_mode, True,
                lambda s: "\n".join(f"{r['name']:30} {r['description']}" for r in s["variants"]))
