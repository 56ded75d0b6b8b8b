"""`optimize.select: smallest_within_budget` inside `build`: sweep the platforms' variants, keep the
sweep report beside the parity reports, and hand the packager each target's chosen artifact."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

from mobilekit.convert.base import Artifact, platform_targets
from mobilekit.convert.context import ModelContext
from mobilekit.core.config import BuildConfig
from mobilekit.core.errors import GateFailed, InputError
from mobilekit.core.family import get_family
from mobilekit.core.progress import Reporter
from mobilekit.optimize.produce import producer_for
from mobilekit.optimize.sweep import resolve_variants, sweep_context, write_outputs
from mobilekit.optimize.variants import VARIANTS
from mobilekit.pipeline.package import ArtifactFor, BundleIdentity, report_folder


FULL_INTEGER = ("int8", "int8_io")


def platform_variants(config: BuildConfig, platforms: Sequence[str]) -> list[str] | None:
    """The variants a selecting build sweeps (checked before any work), None when it does not select.
    Every platform target needs at least one. A family of several modules cannot take full-integer
    TFLite variants yet (each module would need its own calibration inputs): they are left out of
    the default list and refused when named."""
    if config.optimize.select == "none":
        return None
    targets = sorted({t for p in platforms for t in platform_targets(p)})
    names = resolve_variants(config, None, targets)
    missing = [t for t in targets if not any(VARIANTS.get(n).target == t for n in names)]
    if missing:
        raise InputError(f"optimize.variants: no variant for target(s) {', '.join(missing)} of this build; "
                         f"add one (e.g. {', '.join(v for v in VARIANTS.names() if VARIANTS.get(v).target in missing)[:120]})")
    if len(get_family(config.family).module_names_for(config)) > 1:
        integer = [n for n in names if VARIANTS.get(n).quantization in FULL_INTEGER]
        if integer and config.optimize.variants:
            raise InputError(f"optimize.variants: {', '.join(integer)}: full-integer TFLite variants are not available for the "
                             f"{config.family} family's modules yet (per-module calibration); use tflite-dynamic-int8 or tflite-fp16")
        names = [n for n in names if n not in integer]
    return names


def select_variants(ctx: ModelContext, config: BuildConfig, variants: list[str] | None, work: Path, out_dir: Path,
                    identity: BundleIdentity, reporter: Reporter) -> ArtifactFor | None:
    """Sweep `variants` on the end-to-end model; no variant within budget → GateFailed, nothing published.
    Every module of the selected variant is derived from the same (optimized) end-to-end model."""
    if variants is None:
        return None
    producer = producer_for(ctx, config, reporter.stage)
    result = sweep_context(ctx, config, variants, work / "sweep", reporter, producer)
    report_dir = out_dir / "reports" / report_folder(identity.meta) / "sweep"
    report_dir.mkdir(parents=True, exist_ok=True)
    write_outputs(result, report_dir)
    if not result.budget_met:
        raise GateFailed(f"{result.unmet_message()}; no bundle published\n{result.table()}", {"sweep": result.summary()})

    def artifact_for(target: str, module: ModelContext, models_dir: Path) -> tuple[Artifact, ModelContext]:
        row = result.row(result.selected[target])
        if module.module == ctx.module:  # the sweep built the end-to-end artifact already
            built = producer.artifacts[row.name]
            source, report = producer.source(VARIANTS.get(row.name).training_pass)
        else:
            built, source, report = producer.produce(row.name, work / "selected" / module.module, module=module.module)
        models_dir.mkdir(parents=True, exist_ok=True)
        destination = models_dir / built.path.name
        (shutil.copytree if built.path.is_dir() else shutil.copy2)(built.path, destination)
        details = {**built.details,
                   "selection": {"rule": config.optimize.select, "metric": result.metric, "max_drop": result.max_drop,
                                 "reference": result.reference[result.metric], "value": row.metric, "delta": row.delta},
                   "training_pass": {k: v for k, v in report.items() if k != "loss"}}
        return Artifact(target, destination, built.precision, details), source

    return artifact_for
