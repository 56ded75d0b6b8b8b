"""Turn a model context into a conversion request for a target, and convert it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mobilekit.convert.base import TARGETS, Artifact, ConvertRequest
from mobilekit.convert.context import ModelContext
from mobilekit.core.config import BundleMeta, TargetsConfig
from mobilekit.core.errors import InputError
from mobilekit.core.family import MAIN_MODULE


def artifact_stem(meta: BundleMeta, module: str) -> str:
    """`<name>` for the end-to-end module, `<name>-<module>` for the others."""
    return meta.name if module == MAIN_MODULE else f"{meta.name}-{module}"


def convert_request(ctx: ModelContext, target: str, meta: BundleMeta | None = None, options: Any = None,
                    precision: str | None = None) -> ConvertRequest:
    """`precision` (fp32/fp16) overrides the target options' default precision."""
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
    if ctx.module != MAIN_MODULE:
        user["mobilekit.module"] = ctx.module
    return ConvertRequest(ctx.io, meta, options, user)


def _with_precision(target: str, options: Any, precision: str) -> Any:
    if precision not in ("fp32", "fp16"):
        raise InputError(f"precision must be fp32 or fp16, got {precision!r}")
    field = next((f for f in ("compute_precision", "precision") if f in type(options).model_fields), None) if options is not None else None
    if field is None:
        if precision != "fp32":
            raise InputError(f"the {target} target converts fp32 only")
        return options
    return options.model_copy(update={field: precision})


def convert_artifact(ctx: ModelContext, target: str, out_dir: Path, request: ConvertRequest | None = None, *,
                     allow_nonfinite: bool = False) -> Artifact:
    """Convert `ctx`'s model for `target` into `out_dir`. Its weights are checked first
    (`convert.preflight.check_finite_weights`): NaN/Inf weights are refused with exit code 2 unless
    `allow_nonfinite`, in which case the artifact's details list them (`nonfinite_weights`)."""
    from mobilekit.convert.preflight import check_finite_weights

    converter = TARGETS.get(target)
    source = str(ctx.path) if ctx.module == MAIN_MODULE else f"{ctx.path} (module {ctx.module})"
    nonfinite = check_finite_weights(ctx.model, source=source, allow_nonfinite=allow_nonfinite)
    request = request or convert_request(ctx, target)
    out_dir.mkdir(parents=True, exist_ok=True)
    from mobilekit.nn.keras_io import for_conversion  # Keras 3 models: variables tracked for the re-save

    artifact = converter.convert(for_conversion(ctx.model), request, out_dir / f"{artifact_stem(request.meta, ctx.module)}{converter.suffix}")
    if nonfinite:
        artifact.details["nonfinite_weights"] = [str(f) for f in nonfinite]
    return artifact
