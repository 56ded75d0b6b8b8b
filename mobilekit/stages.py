"""Pipeline stages shared by `build`, `convert` and `parity`: load a reference model with its
context, make parity inputs, convert, and verify an artifact against the reference."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mobilekit.convert.base import PLATFORMS, TARGETS, Artifact, ConvertRequest
from mobilekit.core.config import BuildConfig, BundleMeta, parse_config
from mobilekit.core.errors import InputError
from mobilekit.core.loading import load_keras_model
from mobilekit.models import get_family
from mobilekit.models.base import ModelFamily, ModelIO
from mobilekit.parity.compare import ParityResult, compare_outputs, not_run
from mobilekit.parity.runners.base import RUNNERS, gate_runner
from mobilekit.parity.tolerances import tolerance_for

SIDECAR = "model.json"


@dataclass
class ModelContext:
    """A reference model and what we know about it (family/config when mobilekit trained it)."""

    model: Any
    io: ModelIO
    path: Path
    config: BuildConfig | None = None
    family: ModelFamily | None = None

    @property
    def family_name(self) -> str | None:
        return self.family.name if self.family else None


def load_context(model_path: Path, *, trust: bool = False) -> ModelContext:
    model = load_keras_model(model_path, trust=trust)
    sidecar = model_path.parent / SIDECAR if model_path.is_file() else model_path / SIDECAR
    if sidecar.is_file():
        data = json.loads(sidecar.read_text())
        config = parse_config(data["config"], str(sidecar))
        family = get_family(config.family)
        return ModelContext(model, family.io(config), model_path, config, family)
    from mobilekit.models.generic import io_from_keras

    return ModelContext(model, io_from_keras(model), model_path)


def parity_inputs(ctx: ModelContext, samples: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Held-out family data when known; else seeded uniform [0, 1) inputs of the right shapes."""
    if ctx.config is not None and ctx.family is not None:
        config = ctx.config.model_copy(update={"data": ctx.config.data.model_copy(update={"parity_samples": samples})})
        return ctx.family.make_split(config, "parity").inputs
    rng = np.random.default_rng(seed)
    return {t.name: rng.random((samples, *t.shape[1:]), dtype=np.float32) for t in ctx.io.inputs}


def reference_outputs(ctx: ModelContext, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TensorFlow reference outputs, one case at a time (the shape mobile runtimes see)."""
    from mobilekit.convert.tracing import call_serving, serving_function

    fn = serving_function(ctx.model, ctx.io)
    count = len(next(iter(inputs.values())))
    per_case = [call_serving(fn, {n: a[i : i + 1] for n, a in inputs.items()}) for i in range(count)]
    return {name: np.concatenate([c[name] for c in per_case]) for name in per_case[0]}


def convert_request(ctx: ModelContext, target: str, meta: BundleMeta | None = None, options: Any = None) -> ConvertRequest:
    from mobilekit.core.config import TargetsConfig

    config = ctx.config
    meta = meta or (config.bundle if config else BundleMeta(name=ctx.path.stem.lower().replace(".", "-")[:63] or "model", version="0.0.0"))
    options = options or getattr(config.targets if config else TargetsConfig(), target)
    user = {"mobilekit.family": ctx.family_name or "generic"}
    if config is not None:
        user.update({"mobilekit.preset": config.preset, "mobilekit.config_sha256": config.sha256()})
    return ConvertRequest(ctx.io, meta, options, ctx.family.labels if ctx.family else (), user)


def convert_artifact(ctx: ModelContext, target: str, out_dir: Path, request: ConvertRequest | None = None) -> Artifact:
    converter = TARGETS.get(target)
    request = request or convert_request(ctx, target)
    out_dir.mkdir(parents=True, exist_ok=True)
    return converter.convert(ctx.model, request, out_dir / f"{request.meta.name}{converter.suffix}")


def runner_for_artifact(artifact: Path, runner: str | None = None):
    """The explicitly named runner, else the first available gate runner for the artifact's target."""
    target = target_of(artifact)
    if runner is not None:
        chosen = RUNNERS.get(runner)
        if chosen.target != target:
            raise InputError(f"runner {runner!r} runs {chosen.target} artifacts, not {artifact.name}")
        reason = chosen.unavailable_reason()
        return (None, [f"{runner}: {reason}"]) if reason else (chosen, [])
    return gate_runner(target)


def target_of(artifact: Path) -> str:
    for name, target in TARGETS.items():
        if artifact.name.endswith(target.suffix):
            return name
    raise InputError(f"{artifact}: unknown artifact type; expected one of: {', '.join(TARGETS.get(n).suffix for n in TARGETS)}")


def verify_artifact(ctx: ModelContext, artifact: Path, precision: str, inputs: dict[str, np.ndarray],
                    reference: dict[str, np.ndarray], runner: str | None = None) -> ParityResult:
    target = target_of(artifact)
    tolerance = tolerance_for(ctx.family_name, target, precision, ctx.config)
    chosen, skipped = runner_for_artifact(artifact, runner)
    if chosen is None:
        return not_run(target, precision, tolerance, "; ".join(skipped) or f"no runner registered for {target}")
    candidate = chosen.run(artifact, inputs, ctx.io)
    task = (ctx.family.task_metric_name, ctx.family.task_metric) if ctx.family else None
    result = compare_outputs(reference, candidate, tolerance, target=target, precision=precision, runner=chosen.name, task_metric=task)
    result.candidate_outputs = candidate
    if skipped:
        result.note = "skipped: " + "; ".join(skipped)
    return result


def platform_targets(platform: str) -> tuple[str, ...]:
    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}; accepted: {', '.join(sorted(PLATFORMS))}, all")
    return PLATFORMS[platform]
