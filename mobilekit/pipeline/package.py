"""Stage models into bundles: every module of every model converted per target, gated by parity,
kernels emitted, manifest written; bundles published only when no gate failed.

A single-model bundle keeps the model at the bundle root (`models/`, `parity/`, `kernels/`,
manifest at the top); a model-set bundle puts each model under `<model name>/` and the manifest
lists one section per model."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from mobilekit.bundle.manifest import SCHEMA_VERSION
from mobilekit.bundle.writer import publish_unpacked, write_manifest, zip_tree
from mobilekit.convert.artifact_io import artifact_io
from mobilekit.convert.base import Artifact, platform_targets
from mobilekit.convert.context import ModelContext, reference_outputs
from mobilekit.convert.multifunction import supports_multifunction
from mobilekit.convert.request import convert_artifact, convert_request
from mobilekit.core.clock import artifact_timestamp_iso
from mobilekit.core.config import BundleMeta
from mobilekit.core.errors import GateFailed
from mobilekit.core.faults import fault_point
from mobilekit.core.family import MAIN_MODULE
from mobilekit.core.progress import Reporter
from mobilekit.core.toolchain import toolchain_versions
from mobilekit.optimize.accounting import weight_stats
from mobilekit.parity.compare import ParityResult
from mobilekit.parity.report import ReportEntry, write_reports
from mobilekit.parity.runners.base import emulation_of

if TYPE_CHECKING:
    from mobilekit.pipeline.run_guard import BuildRun

OPTIMIZATION_KEYS = ("variant", "steps", "compute_precision", "selection", "training_pass")
# (target, module context, models dir) -> (artifact, the context it must match); None: plain conversion
ArtifactFor = Callable[[str, ModelContext, Path], tuple[Artifact, ModelContext]]


@dataclass(frozen=True)
class BundleIdentity:
    """What names a model in a bundle and goes into its manifest section besides the artifacts."""

    meta: BundleMeta
    family: str
    preset: str
    config_sha256: str
    model: dict[str, Any]

    def stem(self, platform: str) -> str:
        return f"{self.meta.name}-{self.meta.version}-{platform}"


@dataclass
class ModelBuild:
    """One model ready to package: its modules (dataflow order), each module's parity inputs and
    TensorFlow reference outputs, and where optimized artifacts come from."""

    identity: BundleIdentity
    modules: list[ModelContext]
    module_specs: list[dict[str, Any]]  # Module.to_manifest() per module
    inputs: dict[str, dict[str, np.ndarray]]
    references: dict[str, dict[str, np.ndarray]]
    artifact_for: ArtifactFor | None = None


def module_inputs(modules: Sequence[ModelContext], split_inputs: dict[str, np.ndarray]):
    """Run the reference modules in dataflow order from the split's inputs: each module's inputs
    are the split inputs or earlier modules' outputs of the same name. -> (inputs, references) per module."""
    values = dict(split_inputs)
    inputs, references = {}, {}
    for ctx in modules:
        inputs[ctx.module] = {t.name: values[t.name] for t in ctx.io.inputs}
        references[ctx.module] = reference_outputs(ctx, inputs[ctx.module])
        values.update(references[ctx.module])
    return inputs, references


@dataclass
class Outcome:
    """Parity verdicts of every staged artifact, keyed `<platform>/<path in bundle>`."""

    parity: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, list[ReportEntry]] = field(default_factory=dict)  # per model name
    report_paths: dict[str, dict[str, str]] = field(default_factory=dict)  # per model name: json / junit / html

    @property
    def failed(self) -> list[str]:
        return [k for k, r in self.parity.items() if r["status"] == "failed"]

    @property
    def not_verified(self) -> list[str]:
        return [k for k, r in self.parity.items() if r["status"] == "not_run"]

    @property
    def emulated(self) -> list[str]:
        """Gates passed by a runner that does not execute the artifact in its real runtime."""
        return [k for k, r in self.parity.items() if r["status"] == "passed" and emulation_of(r.get("runner", ""))]


def stage_model(model: ModelBuild, platform: str, root: Path, prefix: str, outcome: Outcome, reporter: Reporter) -> dict[str, Any]:
    """Convert and gate every module for `platform`'s targets under `root/prefix`; -> its manifest section."""
    from mobilekit.parity.mil_custom_ops import verify_converted

    base = root / prefix if prefix else root
    identity = model.identity
    artifacts, results, keys, module_artifacts = [], [], [], {ctx.module: [] for ctx in model.modules}
    for target in platform_targets(platform):
        built = _convert_modules(model, platform, target, base, reporter)
        for ctx, artifact, source in built:
            reporter.stage(f"{platform}: parity of {artifact.path.name}" + (f" ({ctx.module})" if len(built) > 1 else ""))
            inputs = model.inputs[ctx.module]
            reference = model.references[ctx.module] if source is ctx else reference_outputs(source, inputs)
            result = verify_converted(source, artifact, inputs, reference)
            for line in result.checks:
                reporter.stage(f"  {line}")
            if result.status == "not_run":
                reporter.warn(f"{target} parity NOT verified: {result.note}")
            if not artifacts or artifacts[-1] is not artifact:
                artifacts.append(artifact)
            results.append(result)
            rel = artifact.path.relative_to(root).as_posix()
            function = f"#{ctx.module}" if "functions" in artifact.details else ""  # parity of one function of the package
            module_artifacts[ctx.module].append(rel)
            keys.append(rel + function)
            outcome.reports.setdefault(identity.meta.name, []).append(
                ReportEntry(f"{platform}/{artifact.path.name}{function}", result, inputs, reference, result.candidate_outputs))
            outcome.parity[f"{platform}/{rel}{function}"] = result.to_dict()
    (base / "parity").mkdir(parents=True, exist_ok=True)
    (base / "parity" / "parity.json").write_text(
        json.dumps([{"artifact": key, **r.to_dict()} for key, r in zip(keys, results)], indent=2, sort_keys=True) + "\n")
    kernels = stage_kernels(artifacts, base, identity.meta.name)
    modules = [{**spec, "artifacts": module_artifacts[spec["name"]]} for spec in model.module_specs]
    main = next(ctx for ctx in model.modules if ctx.module == MAIN_MODULE)
    return model_section(identity, main, modules, artifacts, dict(zip(keys, results)), root, kernels)


def _convert_modules(model: ModelBuild, platform: str, target: str, base: Path, reporter: Reporter
                     ) -> list[tuple[ModelContext, Artifact, ModelContext]]:
    """(module, artifact, the context it must match) per module. Core ML for iOS18 and later with
    several modules: one multifunction package (a function per module, `main` the default) whose
    shared weights are stored once; earlier deployment targets get a package per module."""
    identity = model.identity
    if target == "tflite" and len(model.modules) > 1 and model.artifact_for is None and _float_tflite(model):
        from mobilekit.convert.tflite import SignaturesUnsupported

        try:
            return _tflite_signatures(model, platform, base, reporter)
        except SignaturesUnsupported as exc:
            reporter.warn(f"{platform}: one file per module instead of signatures: {exc}")
    multi = target == "coreml" and len(model.modules) > 1 and supports_multifunction(_deployment_target(model))
    out_dir = base.parent / f".{base.name}-functions" if multi else base / "models"
    built = []
    for ctx in model.modules:
        label = identity.meta.name if ctx.module == MAIN_MODULE else f"{identity.meta.name}/{ctx.module}"
        reporter.stage(f"{platform}: converting {label} to {target}")
        if model.artifact_for is None:
            artifact, source = convert_artifact(ctx, target, out_dir, convert_request(ctx, target, identity.meta)), ctx
        else:
            artifact, source = model.artifact_for(target, ctx, out_dir)
        built.append((ctx, artifact, source))
    if not multi or any(a.details.get("format") != "mlprogram" for _, a, _ in built):
        return built  # custom layers force the neural-network format, which has no multifunction models
    from mobilekit.convert.multifunction import combine_functions
    from mobilekit.core.fsio import disk_bytes

    main = next(a for c, a, _ in built if c.module == MAIN_MODULE)
    separate = {c.module: disk_bytes(a.path) for c, a, _ in built}
    reporter.stage(f"{platform}: one multifunction Core ML package for {', '.join(separate)}")
    separate_weights = {c.module: _weight_file_bytes(a.path) for c, a, _ in built}
    path = combine_functions({c.module: a.path for c, a, _ in built}, base / "models" / main.path.name, MAIN_MODULE)
    details = {**main.details, "functions": sorted(separate), "default_function": MAIN_MODULE,
               "separate_package_bytes": separate, "separate_weight_file_bytes": separate_weights,
               "weight_file_bytes": _weight_file_bytes(path),
               "packaging": "multifunction (iOS18+): one package, a function per module, shared weights stored once"}
    combined = Artifact(target, path, main.precision, details)
    import shutil

    shutil.rmtree(out_dir, ignore_errors=True)
    return [(ctx, combined, source) for ctx, _, source in built]


def _float_tflite(model: ModelBuild) -> bool:
    config = model.modules[0].config
    return config is None or config.targets.tflite.quantization == "none"


def _tflite_signatures(model: ModelBuild, platform: str, base: Path, reporter: Reporter
                       ) -> list[tuple[ModelContext, Artifact, ModelContext]]:
    """Every module as a signature of one `.tflite` (LiteRT stores the shared weights once)."""
    from mobilekit.convert.base import TARGETS
    from mobilekit.convert.request import artifact_stem
    from mobilekit.nn.keras_io import for_conversion

    identity = model.identity
    reporter.stage(f"{platform}: converting {identity.meta.name} ({', '.join(c.module for c in model.modules)}) "
                   "to one tflite with a signature per module")
    from mobilekit.convert.preflight import check_finite_weights

    for ctx in model.modules:  # convert_artifact's NaN/Inf preflight, for this multi-signature path
        check_finite_weights(ctx.model, source=f"{ctx.path} (module {ctx.module})")
    target = TARGETS.get("tflite")
    out = base / "models" / f"{artifact_stem(identity.meta, MAIN_MODULE)}{target.suffix}"
    out.parent.mkdir(parents=True, exist_ok=True)
    items = [(ctx.module, for_conversion(ctx.model), convert_request(ctx, "tflite", identity.meta)) for ctx in model.modules]
    artifact = target.convert_modules(items, out)
    return [(ctx, artifact, ctx) for ctx in model.modules]


def _weight_file_bytes(package: Path) -> int:
    """Bytes of a Core ML package's weight blob(s)."""
    return sum(p.stat().st_size for p in (package / "Data" / "com.apple.CoreML" / "weights").glob("*") if p.is_file())


def _deployment_target(model: ModelBuild) -> str:
    config = model.modules[0].config
    return config.targets.coreml.deployment_target if config is not None else "iOS16"


def model_section(identity: BundleIdentity, main: ModelContext, modules: list[dict[str, Any]], artifacts: Sequence[Artifact],
                  results: dict[str, ParityResult], root: Path, custom_kernels: Sequence[dict[str, Any]]) -> dict[str, Any]:
    meta = identity.meta
    rel = lambda a: a.path.relative_to(root).as_posix()  # noqa: E731
    return {
        "name": meta.name, "version": meta.version, "family": identity.family, "preset": identity.preset,
        "description": meta.description, "config_sha256": identity.config_sha256,
        "inputs": [t.to_manifest() for t in main.io.inputs],
        "outputs": [t.to_manifest() for t in main.io.outputs],
        "modules": modules,
        "artifacts": [{"target": a.target, "path": rel(a), "precision": a.precision, **weight_stats(a.path), "details": a.details,
                       "io": artifact_io(a.target, a.path, main.io)} for a in artifacts],
        "parity": {key: r.to_dict() for key, r in results.items()},
        "parity_passed": not any(r.status == "failed" for r in results.values()) and any(r.status == "passed" for r in results.values()),
        "parity_complete": all(r.status == "passed" and not emulation_of(r.runner) for r in results.values()),
        "parity_emulated": [{"artifact": key, "runner": r.runner, "emulation": emulation_of(r.runner)}
                            for key, r in results.items() if r.status == "passed" and emulation_of(r.runner)],
        "optimization": {"applied": [{"artifact": rel(a), **{k: a.details[k] for k in OPTIMIZATION_KEYS if k in a.details}}
                                     for a in artifacts if "variant" in a.details]},
        "custom_kernels": list(custom_kernels),
        "model": identity.model,
    }


def bundle_manifest(meta: BundleMeta, platform: str, sections: list[dict[str, Any]], model_set: bool) -> dict[str, Any]:
    """The bundle's manifest: a single model's section at the top level, or a model set's sections."""
    common = {"schema_version": SCHEMA_VERSION, "platform": platform, "author": meta.author, "license": meta.license,
              "created": artifact_timestamp_iso(), "toolchain": toolchain_versions(), "files": {}}
    if not model_set:
        return {**sections[0], **common}
    return {**common, "kind": "model-set", "name": meta.name, "version": meta.version, "description": meta.description,
            "models": [{**s, "root": f"{s['name']}/"} for s in sections],
            "parity_passed": all(s["parity_passed"] for s in sections),
            "parity_complete": all(s["parity_complete"] for s in sections)}


def stage_kernels(artifacts, stage: Path, model_name: str) -> list[dict[str, Any]]:
    """The manifest's `custom_kernels` for the staged artifacts: Core ML custom layers (their Swift /
    Metal sources copied under `kernels/` once, see mobilekit.shaders.emit) and TFLite Select TF
    ops; a route several modules share (the end-to-end model contains every op) is listed once."""
    from mobilekit.shaders.emit import emit_kernels, select_tf_ops_entries

    def unique(target: str) -> list[dict[str, Any]]:
        rows = [r for a in artifacts if a.target == target for r in a.details.get("op_routes", [])]
        return list({json.dumps(r, sort_keys=True): r for r in rows}.values())

    return emit_kernels(unique("coreml"), stage, model_name) + select_tf_ops_entries(unique("tflite"))


def report_folder(meta: BundleMeta) -> str:
    """A model's report folder under `<out>/reports/`: `<name>-<version>`."""
    return f"{meta.name}-{meta.version}"


def package(models: Sequence[ModelBuild], platforms: Sequence[str], meta: BundleMeta, out_dir: Path, run: "BuildRun", *,
            reporter: Reporter, unpacked: bool, require_complete_parity: bool, model_set: bool) -> tuple[list[Path], Outcome]:
    """Stage one bundle per platform holding `models` and their parity reports (always); publish the
    zips and reports only when no gate failed (and, if required, none was skipped or emulated);
    after a failure the caller publishes the reports beside the good ones (`run.publish_reports`)."""
    outcome = Outcome()
    staged: list[tuple[str, Path]] = []
    for platform in platforms:
        stage = run.work / "bundles" / f"{meta.name}-{meta.version}-{platform}"
        sections = [stage_model(m, platform, stage, m.identity.meta.name if model_set else "", outcome, reporter) for m in models]
        write_manifest(stage, bundle_manifest(meta, platform, sections, model_set))
        staged.append((platform, stage))
    gate_failed = bool(outcome.failed or (require_complete_parity and (outcome.not_verified or outcome.emulated)))
    for model in models:
        name, folder = model.identity.meta.name, report_folder(model.identity.meta)
        paths = write_reports(outcome.reports.get(name, []), run.staging / "reports" / folder)
        final = out_dir / "reports" / (folder + (".failed" if gate_failed else ""))
        outcome.report_paths[name] = {k: str(final / v.name) for k, v in paths.items()}
    if gate_failed:
        reason = (f"parity failed for {', '.join(outcome.failed)}" if outcome.failed
                  else f"parity not verified for {', '.join(outcome.not_verified)}" if outcome.not_verified
                  else f"parity only emulated (the real runtime did not run) for {', '.join(outcome.emulated)}")
        raise GateFailed(f"{reason}; no bundle published", {"parity": outcome.parity, "not_verified": outcome.not_verified,
                                                            "emulated": outcome.emulated, "reports": outcome.report_paths})
    bundles = []
    for platform, stage in staged:
        destination = out_dir / f"{meta.name}-{meta.version}-{platform}.zip"
        fault_point("before-zip")
        zip_tree(stage, destination, tag=run.id)
        if unpacked:
            publish_unpacked(stage, out_dir / f"{meta.name}-{meta.version}-{platform}")
        bundles.append(destination)
    fault_point("before-reports")
    run.publish_reports(failed=False)
    return bundles, outcome
