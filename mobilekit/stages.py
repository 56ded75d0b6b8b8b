"""Pipeline stages shared by `build`, `convert` and `parity`: load a reference model with its
context, make parity inputs, convert, and verify an artifact against the reference."""
from __future__ import annotations

import json
import re
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
    from mobilekit.models.generic import model_io  # Keras config (tf_keras / Keras 3) or SavedModel signature

    return ModelContext(model, model_io(model), model_path)


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


def convert_request(ctx: ModelContext, target: str, meta: BundleMeta | None = None, options: Any = None,
                    precision: str | None = None) -> ConvertRequest:
    """`precision` (fp32/fp16) overrides the target options' default precision."""
    from mobilekit.core.config import TargetsConfig

    config = ctx.config
    name = re.sub(r"[^a-z0-9_-]", "-", ctx.path.stem.lower()).strip("-_")[:63] or "model"
    meta = meta or (config.bundle if config else BundleMeta(name=name, version="0.0.0"))
    # targets without a config section (onnx) get None: the target's own defaults
    options = options or getattr(config.targets if config else TargetsConfig(), target, None)
    if precision is not None:
        options = _with_precision(target, options, precision)
    user = {"mobilekit.family": ctx.family_name or "generic"}
    if config is not None:
        user.update({"mobilekit.preset": config.preset, "mobilekit.config_sha256": config.sha256()})
    return ConvertRequest(ctx.io, meta, options, ctx.family.labels if ctx.family else (), user)


def _with_precision(target: str, options: Any, precision: str) -> Any:
    if precision not in ("fp32", "fp16"):
        raise InputError(f"precision must be fp32 or fp16, got {precision!r}")
    field = next((f for f in ("compute_precision", "precision") if f in type(options).model_fields), None) if options is not None else None
    if field is None:
        if precision != "fp32":
            raise InputError(f"the {target} target converts fp32 only")
        return options
    return options.model_copy(update={field: precision})


def convert_artifact(ctx: ModelContext, target: str, out_dir: Path, request: ConvertRequest | None = None) -> Artifact:
    converter = TARGETS.get(target)
    request = request or convert_request(ctx, target)
    out_dir.mkdir(parents=True, exist_ok=True)
    from mobilekit.models.generic import for_conversion  # Keras 3 models: variables tracked for the re-save

    return converter.convert(for_conversion(ctx.model), request, out_dir / f"{request.meta.name}{converter.suffix}")


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
    if result.status == "failed" and target in LOCALIZABLE_TARGETS:
        _localize(ctx, artifact, inputs, tolerance, precision, result)
    if skipped:
        result.note = "skipped: " + "; ".join(skipped)
    return result


def artifact_precision(artifact: Path) -> str:
    """The numerics class a converted artifact's parity tolerance is declared for, read from the
    file: compressed Core ML weights (palettes / sparse → lowbit, 8-bit → w8), else the program's
    compute precision; TFLite int8 activations → int8, int8 / fp16 weights → w8 / fp16; else fp32."""
    target = target_of(artifact)
    if target == "coreml":
        from mobilekit.parity.mil import MilExecutionError, load_program

        try:
            program = load_program(artifact)
        except MilExecutionError:
            return "fp32"  # neural-network format (custom layers) runs fp32
        ops = set(program.op_types())
        if ops & {"constexpr_lut_to_dense", "constexpr_sparse_to_dense", "constexpr_lut_to_sparse"}:
            return "lowbit"
        if ops & {"constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"}:
            return "w8"
        return program.compute_precision
    if target == "tflite":
        return _tflite_numerics(artifact)
    return "fp32"


def _tflite_numerics(artifact: Path) -> str:
    """Full integer models quantize their activations (a QUANTIZE op, or int8 inputs); dynamic-range
    models keep float activations over int8 weights; fp16 models store float16 weights."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(artifact.read_bytes(), 0))
    codes = {code.builtinCode for code in model.operatorCodes}
    graph = model.subgraphs[0]
    tensor_types = {tensor.type for tensor in graph.tensors}
    inputs_int8 = any(graph.tensors[i].type == schema.TensorType.INT8 for i in graph.inputs)
    if schema.BuiltinOperator.QUANTIZE in codes or inputs_int8:
        return "int8"
    if schema.TensorType.INT8 in tensor_types:
        return "w8"
    return "fp16" if schema.TensorType.FLOAT16 in tensor_types else "fp32"


LOCALIZABLE_TARGETS = ("coreml", "tflite")


def _localize(ctx: ModelContext, artifact: Path, inputs, tolerance, precision: str, result: ParityResult) -> None:
    """Name the first op whose error exceeds the tolerance (O(log n) comparisons), with fp16 range advice."""
    from mobilekit.parity.localize import LocalizeError, localize_divergence

    try:
        divergence = localize_divergence(ctx, artifact, inputs, tolerance, precision)
    except LocalizeError as exc:
        result.checks.append(f"- first divergent op not localized: {exc}")
        return
    if divergence is None:
        result.checks.append("- first divergent op: none found (only the task metric failed, or the failure needs XNNPACK)")
        return
    result.divergence = divergence.to_dict()
    result.checks.append(f"✗ {divergence.summary()}")


def platform_targets(platform: str) -> tuple[str, ...]:
    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}; accepted: {', '.join(sorted(PLATFORMS))}, all")
    return PLATFORMS[platform]
