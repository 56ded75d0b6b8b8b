"""`build`: config → data → train → convert → parity → bundle, for one or more platforms.

Everything is staged in a temporary directory; bundles are published (atomic rename into the
output directory) only when every parity gate that ran has passed."""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mobilekit.bundle.writer import publish_unpacked, write_manifest, zip_tree
from mobilekit.core.clock import artifact_timestamp_iso
from mobilekit.core.config import BundleMeta, load_config
from mobilekit.core.errors import GateFailed
from mobilekit.optimize.accounting import weight_stats
from mobilekit.core.progress import Reporter, SilentReporter
from mobilekit.core.toolchain import toolchain_versions
from mobilekit.models import get_family
from mobilekit.parity.compare import ParityResult
from mobilekit.parity.report import ReportEntry, write_reports

ALL_PLATFORMS = ("ios", "android")
OPTIMIZATION_KEYS = ("variant", "steps", "compute_precision", "selection", "training_pass")


@dataclass
class BuildResult:
    bundles: list[Path]
    parity_passed: bool
    parity_complete: bool
    parity: dict[str, dict[str, Any]]
    quality: dict[str, float]
    config_sha256: str
    not_verified: list[str] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "bundles": [str(p) for p in self.bundles],
            "parity_passed": self.parity_passed,
            "parity_complete": self.parity_complete,
            "not_verified": self.not_verified,
            "parity": self.parity,
            "quality": self.quality,
            "config_sha256": self.config_sha256,
            "reports": self.reports,
        }


def resolve_platforms(platform: str) -> tuple[str, ...]:
    from mobilekit.stages import platform_targets

    chosen = ALL_PLATFORMS if platform == "all" else (platform,)
    for name in chosen:
        platform_targets(name)
    return chosen


@dataclass(frozen=True)
class BundleIdentity:
    """What names a bundle and goes into its manifest besides the artifacts."""

    meta: BundleMeta
    family: str
    preset: str
    config_sha256: str
    model: dict[str, Any]

    def stem(self, platform: str) -> str:
        return f"{self.meta.name}-{self.meta.version}-{platform}"


def build(platform: str = "ios", config_path: Path | str | None = None, out_dir: Path | str = "dist", *,
          reporter: Reporter | None = None, unpacked: bool = False, require_complete_parity: bool = False) -> BuildResult:
    """Build bundles for `platform` ("ios", "android" or "all"). Raises GateFailed (exit 1) when a
    parity gate fails, or — with `require_complete_parity` — when a gate could not run here."""
    config, _ = load_config(config_path)  # validation happens before any heavy work
    platforms = resolve_platforms(platform)
    reporter = reporter or SilentReporter()

    from mobilekit.core.loading import load_keras_model
    from mobilekit.stages import ModelContext, reference_outputs
    from mobilekit.train.trainer import train

    family = get_family(config.family)
    with tempfile.TemporaryDirectory(prefix="mobilekit-build-") as work_str:
        work = Path(work_str)
        reporter.stage(f"training {config.family}/{config.preset} (seed {config.seed})")
        trained = train(config, work / "train", progress=reporter.progress)
        if trained.cached:
            reporter.stage("reusing the cached trained model (same training config)")
        ctx = ModelContext(load_keras_model(trained.model_path), family.io(config), trained.model_path, config, family)
        check_op_coverage(ctx, platforms, reporter)  # every op, every target, before anything is written
        reporter.stage("evaluating on held-out data")
        quality = family.evaluate(_keras_predict(ctx), config)
        inputs = family.make_split(config, "parity").inputs
        identity = BundleIdentity(config.bundle, config.family, config.preset, config.sha256(),
                                  {"params": trained.params, "quality": quality, "labels": list(family.labels)})
        artifact_for = select_variants(ctx, config, platforms, work, Path(out_dir), identity, reporter)
        return package_bundles(ctx, platforms, identity, inputs, reference_outputs(ctx, inputs), Path(out_dir), work,
                               reporter=reporter, unpacked=unpacked, require_complete_parity=require_complete_parity,
                               artifact_for=artifact_for)


def select_variants(ctx, config, platforms: Sequence[str], work: Path, out_dir: Path, identity: BundleIdentity, reporter: Reporter):
    """`optimize.select: smallest_within_budget`: sweep the platforms' variants, write the sweep
    report beside the parity reports, and return how package_bundles gets each target's chosen
    artifact (with the model it must match). No variant within budget → GateFailed, nothing published."""
    if config.optimize.select == "none":
        return None
    import shutil

    from mobilekit.convert.base import Artifact
    from mobilekit.optimize.produce import producer_for
    from mobilekit.optimize.sweep import resolve_variants, sweep_context, write_outputs
    from mobilekit.optimize.variants import VARIANTS
    from mobilekit.stages import platform_targets

    targets = sorted({t for p in platforms for t in platform_targets(p)})
    producer = producer_for(ctx, config, reporter.stage)
    result = sweep_context(ctx, config, resolve_variants(config, None, targets), work / "sweep", reporter, producer)
    report_dir = out_dir / "reports" / f"{identity.meta.name}-{identity.meta.version}" / "sweep"
    report_dir.mkdir(parents=True, exist_ok=True)
    write_outputs(result, report_dir)
    if not result.budget_met:
        raise GateFailed(f"{result.unmet_message()}; no bundle published\n{result.table()}", {"sweep": result.summary()})

    def artifact_for(target: str, models_dir: Path):
        row = result.row(result.selected[target])
        built = producer.artifacts[row.name]
        source, report = producer.source(VARIANTS.get(row.name).training_pass)
        models_dir.mkdir(parents=True, exist_ok=True)
        destination = models_dir / built.path.name
        (shutil.copytree if built.path.is_dir() else shutil.copy2)(built.path, destination)
        details = {**built.details,
                   "selection": {"rule": config.optimize.select, "metric": result.metric, "max_drop": result.max_drop,
                                 "reference": result.reference[result.metric], "value": row.metric, "delta": row.delta},
                   "training_pass": {k: v for k, v in report.items() if k != "loss"}}
        return Artifact(target, destination, built.precision, details), source

    return artifact_for


def build_model_bundle(ctx, platform: str = "ios", out_dir: Path | str = "dist", *, meta: BundleMeta | None = None,
                       samples: int = 4, reporter: Reporter | None = None, unpacked: bool = False,
                       require_complete_parity: bool = False) -> BuildResult:
    """Bundle an already-trained model (a `stages.ModelContext`, e.g. a tf_keras model using
    `mobilekit.models.layers`): the stages of `build` after training — op coverage, conversion,
    parity gate, kernel emission, manifest, deterministic zip — on `samples` seeded inputs (or the
    family's parity split when the context has a config). Same gates and exit codes as `build`."""
    import hashlib

    from mobilekit.stages import convert_request, parity_inputs, platform_targets, reference_outputs

    platforms = resolve_platforms(platform)
    reporter = reporter or SilentReporter()
    check_op_coverage(ctx, platforms, reporter)
    meta = meta or convert_request(ctx, platform_targets(platforms[0])[0]).meta
    config_sha = ctx.config.sha256() if ctx.config else hashlib.sha256(ctx.model.to_json().encode()).hexdigest()
    identity = BundleIdentity(meta, ctx.family_name or "generic", ctx.config.preset if ctx.config else "none", config_sha,
                              {"params": int(ctx.model.count_params()), "quality": {},
                               "labels": list(ctx.family.labels) if ctx.family else []})
    inputs = parity_inputs(ctx, samples)
    with tempfile.TemporaryDirectory(prefix="mobilekit-bundle-") as work:
        return package_bundles(ctx, platforms, identity, inputs, reference_outputs(ctx, inputs), Path(out_dir), Path(work),
                               reporter=reporter, unpacked=unpacked, require_complete_parity=require_complete_parity)


def package_bundles(ctx, platforms: Sequence[str], identity: BundleIdentity, inputs: dict, reference: dict, out_dir: Path,
                    work: Path, *, reporter: Reporter, unpacked: bool, require_complete_parity: bool,
                    artifact_for=None) -> BuildResult:
    """Convert, gate, emit kernels and stage one bundle per platform; write the reports; publish the
    zips only when no gate failed (and, if required, none was skipped). `artifact_for(target,
    models_dir) -> (Artifact, reference context)` supplies optimized artifacts instead of a plain
    conversion; their parity reference is the model they were converted from."""
    from mobilekit.parity.mil_custom_ops import verify_converted
    from mobilekit.stages import convert_artifact, convert_request, platform_targets, reference_outputs

    parity: dict[str, dict[str, Any]] = {}
    staged: list[tuple[str, Path]] = []
    report_entries = []
    for name in platforms:
        stage = work / "bundles" / identity.stem(name)
        artifacts, results = [], []
        for target in platform_targets(name):
            reporter.stage(f"{name}: converting to {target}")
            if artifact_for is None:
                artifact, source = convert_artifact(ctx, target, stage / "models", convert_request(ctx, target, identity.meta)), ctx
            else:
                artifact, source = artifact_for(target, stage / "models")
            reporter.stage(f"{name}: parity of {artifact.path.name}")
            result = verify_converted(source, artifact, inputs, reference if source is ctx else reference_outputs(source, inputs))
            for line in result.checks:
                reporter.stage(f"  {line}")
            if result.status == "not_run":
                reporter.warn(f"{target} parity NOT verified: {result.note}")
            artifacts.append(artifact)
            results.append(result)
            report_entries.append(ReportEntry(f"{name}/{artifact.path.name}", result, inputs, reference, result.candidate_outputs))
            parity[f"{name}/{artifact.path.relative_to(stage).as_posix()}"] = result.to_dict()
        _write_parity_report(stage, results)
        kernels = stage_kernels(artifacts, stage, identity.meta.name)
        write_manifest(stage, _bundle_manifest(identity, name, ctx, artifacts, results, stage, kernels))
        staged.append((name, stage))

    reports = write_reports(report_entries, out_dir / "reports" / f"{identity.meta.name}-{identity.meta.version}")
    failed = [key for key, r in parity.items() if r["status"] == "failed"]
    not_verified = [key for key, r in parity.items() if r["status"] == "not_run"]
    result = BuildResult([], not failed and len(not_verified) < len(parity), not failed and not not_verified,
                         parity, identity.model.get("quality", {}), identity.config_sha256, not_verified,
                         {k: str(v) for k, v in reports.items()})
    if failed or (require_complete_parity and not_verified):
        reason = f"parity failed for {', '.join(failed)}" if failed else f"parity not verified for {', '.join(not_verified)}"
        raise GateFailed(f"{reason}; no bundle published", result.summary())
    for name, stage in staged:
        destination = out_dir / f"{identity.stem(name)}.zip"
        zip_tree(stage, destination)
        if unpacked:
            publish_unpacked(stage, out_dir / identity.stem(name))
        result.bundles.append(destination)
    return result


def _keras_predict(ctx):
    from mobilekit.convert.tracing import call_serving, serving_function

    fn = serving_function(ctx.model, ctx.io)
    return lambda inputs: call_serving(fn, inputs)


def _write_parity_report(stage: Path, results: Sequence[ParityResult]) -> None:
    (stage / "parity").mkdir(parents=True, exist_ok=True)
    (stage / "parity" / "parity.json").write_text(json.dumps([r.to_dict() for r in results], indent=2, sort_keys=True) + "\n")


def _bundle_manifest(identity: BundleIdentity, platform: str, ctx, artifacts, results: Sequence[ParityResult], stage: Path,
                     custom_kernels: Sequence[dict[str, Any]]) -> dict[str, Any]:
    meta = identity.meta
    return {
        "schema_version": "1.0",
        "name": meta.name, "version": meta.version, "platform": platform,
        "family": identity.family, "preset": identity.preset,
        "description": meta.description, "author": meta.author, "license": meta.license,
        "created": artifact_timestamp_iso(),
        "config_sha256": identity.config_sha256,
        "inputs": [t.to_manifest() for t in ctx.io.inputs],
        "outputs": [t.to_manifest() for t in ctx.io.outputs],
        "artifacts": [{"target": a.target, "path": a.path.relative_to(stage).as_posix(), "precision": a.precision,
                       **weight_stats(a.path), "details": a.details} for a in artifacts],
        "parity": {a.path.relative_to(stage).as_posix(): r.to_dict() for a, r in zip(artifacts, results)},
        "parity_passed": not any(r.status == "failed" for r in results) and any(r.status == "passed" for r in results),
        "parity_complete": all(r.status == "passed" for r in results),
        "optimization": {"applied": [{"artifact": a.path.relative_to(stage).as_posix(), **{k: a.details[k] for k in OPTIMIZATION_KEYS if k in a.details}}
                                     for a in artifacts if "variant" in a.details]},
        "custom_kernels": list(custom_kernels),
        "model": identity.model,
        "toolchain": toolchain_versions(),
        "files": {},
    }


def check_op_coverage(ctx, platforms: Sequence[str], reporter: Reporter | None = None) -> None:
    """Op coverage for every target of `platforms`: raises UnsupportedOpsError (exit 1) listing every
    unsupported op and node of every target at once, before any conversion output is written."""
    from mobilekit.convert.coverage import coverage_report
    from mobilekit.stages import platform_targets

    targets = sorted({t for p in platforms for t in platform_targets(p)})
    if reporter is not None:
        reporter.stage(f"checking op coverage for {', '.join(targets)}")
    coverage_report(ctx.model, ctx.io, targets).require_supported()


def stage_kernels(artifacts, stage: Path, model_name: str) -> list[dict[str, Any]]:
    """The manifest's `custom_kernels` for the staged artifacts: Core ML custom layers (their Swift /
    Metal sources copied under `kernels/`, see mobilekit.shaders.emit) and TFLite Select TF ops."""
    from mobilekit.shaders.emit import emit_kernels, select_tf_ops_entries

    entries: list[dict[str, Any]] = []
    for artifact in artifacts:
        routes = artifact.details.get("op_routes", [])
        entries += emit_kernels(routes, stage, model_name) if artifact.target == "coreml" else select_tf_ops_entries(routes)
    return entries
