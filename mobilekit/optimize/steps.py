"""Single optimization steps on one model (`mobilekit optimize prune|cluster|quantize`): a model
mobilekit trained (its sidecar names the config and so the data), or a user's own tf_keras model
with their data as an `.npz`."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mobilekit.core.config import OptimizeConfig
from mobilekit.core.errors import InputError
from mobilekit.optimize.produce import ArrayData, FamilyData, NoData, VariantProducer
from mobilekit.train.trainer import SIDECAR_FILE


def _context_and_data(model_path: Path, data: Path | None, trust: bool):
    from mobilekit.convert.context import load_context

    ctx = load_context(model_path, trust=trust)
    if data is not None:
        return ctx, ArrayData(data, [t.name for t in ctx.io.inputs], [t.name for t in ctx.io.outputs])
    if ctx.config is not None:
        return ctx, FamilyData(ctx.family, ctx.config)
    return ctx, NoData(f"{model_path} has no mobilekit sidecar (model.json); pass --data FILE.npz with one array per "
                       f"input ({', '.join(t.name for t in ctx.io.inputs)}) and 'targets'")


def _producer(ctx, data, optimize: OptimizeConfig) -> VariantProducer:
    config = ctx.config
    return VariantProducer(ctx, optimize, data, coreml=config.targets.coreml if config else None,
                           batch_size=config.training.batch_size if config else 16, seed=config.seed if config else 0)


def _held_out_scores(ctx, model) -> dict[str, float] | None:
    """The family's single-pass metric on the config's val split (None for models without a config)."""
    if ctx.config is None:
        return None
    from mobilekit.convert.context import ModelContext, reference_outputs

    split = ctx.family.make_split(ctx.config, "val")
    outputs = reference_outputs(ModelContext(model, ctx.io, ctx.path, ctx.config, ctx.family), split.inputs)
    return ctx.family.score_outputs(outputs, split)


def train_pass(pass_name: str, model_path: Path, out_path: Path, *, data: Path | None = None, trust: bool = False,
               overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a training-time pass (prune / cluster / qat settings from the model's config, then
    `overrides`) and save the optimized tf_keras model to `out_path` (`.keras`, atomically)."""
    if out_path.suffix != ".keras":
        raise InputError(f"--out must name a .keras file, got {out_path}")
    ctx, source = _context_and_data(model_path, data, trust)
    optimize = ctx.config.optimize if ctx.config else OptimizeConfig()
    section = getattr(optimize, pass_name)
    optimize = optimize.model_copy(update={pass_name: section.model_copy(update={k: v for k, v in (overrides or {}).items() if v is not None})})
    producer = _producer(ctx, source, optimize)
    optimized, report = producer.source(pass_name)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".optimize-") as tmp:
        staged = Path(tmp) / out_path.name
        optimized.model.save(staged)
        os.replace(staged, out_path)
    if ctx.config is not None:  # keep the sidecar so build/convert/eval know the family and data
        sidecar = {"family": ctx.config.family, "preset": ctx.config.preset, "params": int(optimized.model.count_params()),
                   "config": ctx.config.model_dump(mode="json"), "optimization": {k: v for k, v in report.items() if k != "loss"}}
        (out_path.parent / SIDECAR_FILE).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    before, after = _held_out_scores(ctx, ctx.model), _held_out_scores(ctx, optimized.model)
    return {"model": str(out_path), "pass": pass_name, "report": report, "settings": getattr(optimize, pass_name).model_dump(),
            "params": int(optimized.model.count_params()), "metrics_before": before, "metrics_after": after}


def quantize(model_path: Path, variant: str, out_dir: Path, *, data: Path | None = None, trust: bool = False,
             samples: int = 8) -> dict[str, Any]:
    """Build one variant (e.g. coreml-palette6, tflite-int8) of a model into `out_dir`, with its size
    accounting and parity against the model on `samples` inputs (the config's parity split, or
    the first rows of `data`, or seeded uniform inputs)."""
    from mobilekit.optimize.accounting import weight_stats
    from mobilekit.optimize.variants import VARIANTS
    from mobilekit.convert.context import parity_inputs, reference_outputs
    from mobilekit.parity.verify import verify_artifact

    if variant not in VARIANTS:
        raise InputError(f"unknown variant {variant!r}; accepted: {', '.join(VARIANTS.names())}")
    ctx, source = _context_and_data(model_path, data, trust)
    producer = _producer(ctx, source, ctx.config.optimize if ctx.config else OptimizeConfig())
    out_dir.mkdir(parents=True, exist_ok=True)
    artifact, reference_ctx, report = producer.produce(variant, out_dir)
    inputs = source.calibration(samples) if isinstance(source, ArrayData) else parity_inputs(ctx, samples)
    parity = verify_artifact(reference_ctx, artifact.path, artifact.precision, inputs, reference_outputs(reference_ctx, inputs))
    return {"artifact": str(artifact.path), "variant": variant, "target": artifact.target, "numerics": artifact.precision,
            "steps": artifact.details.get("steps"), "size": weight_stats(artifact.path), "parity": parity.to_dict(),
            "training": {k: v for k, v in report.items() if k != "loss"}}
