"""`build`: config → data → train → convert → parity → bundle, for one model or an SDK model set,
for one or more platforms.

Everything is staged per run (mobilekit.pipeline.run_guard); bundles and their reports are
published (atomic renames into the output directory) only when every parity gate that ran has
passed; a failed build's reports go to `reports/<name>-<version>.failed/`."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mobilekit.convert.base import platform_targets
from mobilekit.convert.context import ModelContext, parity_inputs
from mobilekit.convert.request import convert_request
from mobilekit.core.config import BuildConfig, BundleMeta, load_build_spec
from mobilekit.core.errors import GateFailed
from mobilekit.core.family import MAIN_MODULE, Module, get_family
from mobilekit.core.progress import Reporter, SilentReporter
from mobilekit.pipeline.package import BundleIdentity, ModelBuild, module_inputs, package, report_folder
from mobilekit.pipeline.run_guard import BuildRun
from mobilekit.train.preflight import estimate_dataset, require_memory_within_limit

ALL_PLATFORMS = ("ios", "android")


@dataclass
class BuildResult:
    bundles: list[Path]
    parity_passed: bool
    parity_complete: bool
    parity: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]  # per model name: quality, config_sha256
    not_verified: list[str] = field(default_factory=list)
    reports: dict[str, Any] = field(default_factory=dict)
    emulated: list[str] = field(default_factory=list)  # gates passed by a runner that emulates the artifact
    reused: bool = False  # a cached verified build of the same inputs was re-verified and published

    def summary(self) -> dict[str, Any]:
        summary = {"bundles": [str(p) for p in self.bundles], "parity_passed": self.parity_passed,
                   "parity_complete": self.parity_complete, "not_verified": self.not_verified, "emulated": self.emulated,
                   "parity": self.parity,
                   "models": self.models, "reports": self.reports, "reused": self.reused}
        if len(self.models) == 1:  # a single model: its quality and config hash at the top level too
            only = next(iter(self.models.values()))
            summary.update(quality=only["quality"], config_sha256=only["config_sha256"])
        return summary


def resolve_platforms(platform: str) -> tuple[str, ...]:
    chosen = ALL_PLATFORMS if platform == "all" else (platform,)
    for name in chosen:
        platform_targets(name)
    return chosen


def build(platform: str = "ios", config_path: Path | str | None = None, out_dir: Path | str = "dist", *,
          reporter: Reporter | None = None, unpacked: bool = False, require_complete_parity: bool = False,
          rebuild: bool = False) -> BuildResult:
    """Build bundles for `platform` ("ios", "android" or "all") from one model's config or an SDK
    model set (the embedded SDK set by default). Raises GateFailed (exit 1) when a parity gate fails,
    or — with `require_complete_parity` — when a gate could not run here. With nothing changed since
    a verified build, its bundles are re-verified and published again (`mobilekit.pipeline.build_cache`)
    unless `rebuild`."""
    from mobilekit.pipeline.build_cache import build_key, restore_build, store_build
    from mobilekit.pipeline.pretrain import pretrain
    from mobilekit.pipeline.selection import platform_variants

    configs, model_set, source = load_build_spec(config_path)  # every config validated before any heavy work
    platforms = resolve_platforms(platform)
    for config in configs:  # and every dataset known to fit in memory
        where = str(source) if model_set is None else f"{source}: model {config.bundle.name}"
        require_memory_within_limit(config, where, estimate_dataset(config))
    variants = [platform_variants(config, platforms) for config in configs]
    reporter = reporter or SilentReporter()
    out = Path(out_dir)
    key = build_key(configs, model_set, platforms)
    with BuildRun(out) as run:  # per-run staging; temporaries of dead runs swept first
        if not (rebuild or unpacked) and (hit := restore_build(key, out, run, require_complete_parity, reporter.stage)):
            return BuildResult(hit["bundles"], hit["parity_passed"], hit["parity_complete"], hit["parity"], hit["models"],
                               hit["not_verified"], _reports(hit["report_paths"]), hit["emulated"], reused=True)
        pretrain(configs, run.work, reporter)  # a model set's models side by side, into the training cache
        try:
            models = [_trained_model(config, chosen, platforms, run.work / config.bundle.name, run.staging, reporter)
                      for config, chosen in zip(configs, variants)]
            meta = model_set.bundle if model_set else configs[0].bundle
            result = _package(models, platforms, meta, out, run, reporter, unpacked, require_complete_parity, model_set is not None)
        except GateFailed:
            run.publish_reports(failed=True)
            raise
    if result.parity_passed:
        store_build(key, result.summary(), result.bundles, out, {c.bundle.name: report_folder(c.bundle) for c in configs})
    return result


def module_contexts(config: BuildConfig, model, path: Path) -> tuple[list[ModelContext], list[dict[str, Any]]]:
    """The family's exportable modules of a trained end-to-end `model` as contexts, in dataflow order."""
    family = get_family(config.family)
    modules: Sequence[Module] = family.modules(config, model)
    contexts = [ModelContext(m.model, m.io, path, config, family, m.name) for m in modules]
    return contexts, [m.to_manifest() for m in modules]


def _trained_model(config: BuildConfig, variants: list[str] | None, platforms: Sequence[str], work: Path, out: Path,
                   reporter: Reporter) -> ModelBuild:
    from mobilekit.convert.tracing import call_serving, serving_function
    from mobilekit.nn.loading import load_keras_model
    from mobilekit.pipeline.selection import select_variants
    from mobilekit.train.trainer import train

    family = get_family(config.family)
    reporter.stage(f"training {config.bundle.name}: {config.family}/{config.preset} (seed {config.seed})")
    trained = train(config, work / "train", progress=reporter.progress)
    if trained.cached:
        reporter.stage("reusing the cached trained model (same training config)")
    model = load_keras_model(trained.model_path)
    contexts, specs = module_contexts(config, model, trained.model_path)
    check_op_coverage(contexts, platforms, reporter)  # every op, every module, every target, before anything is written
    reporter.stage("evaluating on held-out data")
    fn = serving_function(model, family.io(config))
    quality = family.evaluate(lambda inputs: call_serving(fn, inputs), config)
    identity = BundleIdentity(config.bundle, config.family, config.preset, config.sha256(),
                              {"params": trained.params, "quality": quality})
    inputs, references = module_inputs(contexts, family.make_split(config, "parity").inputs)
    main = next(c for c in contexts if c.module == MAIN_MODULE)
    artifact_for = select_variants(main, config, variants, work, out, identity, reporter)
    return ModelBuild(identity, contexts, specs, inputs, references, artifact_for)


def build_model_bundle(ctx: ModelContext, platform: str = "ios", out_dir: Path | str = "dist", *, meta: BundleMeta | None = None,
                       samples: int = 4, reporter: Reporter | None = None, unpacked: bool = False,
                       require_complete_parity: bool = False) -> BuildResult:
    """Bundle an already-trained model (a `convert.context.ModelContext`, e.g. a tf_keras model using
    `mobilekit.nn.layers`): the stages of `build` after training — op coverage, conversion,
    parity gate, kernel emission, manifest, deterministic zip — on `samples` seeded inputs (or the
    family's parity split when the context has a config). Same gates and exit codes as `build`."""
    platforms = resolve_platforms(platform)
    reporter = reporter or SilentReporter()
    check_op_coverage([ctx], platforms, reporter)
    meta = meta or convert_request(ctx, platform_targets(platforms[0])[0]).meta
    config_sha = ctx.config.sha256() if ctx.config else hashlib.sha256(ctx.model.to_json().encode()).hexdigest()
    identity = BundleIdentity(meta, ctx.family_name or "generic", ctx.config.preset if ctx.config else "none", config_sha,
                              {"params": int(ctx.model.count_params()), "quality": {}})
    spec = Module(ctx.module, ctx.model, ctx.io).to_manifest()
    inputs, references = module_inputs([ctx], parity_inputs(ctx, samples))
    with BuildRun(Path(out_dir)) as run:
        try:
            return _package([ModelBuild(identity, [ctx], [spec], inputs, references)], platforms, meta, Path(out_dir), run,
                            reporter, unpacked, require_complete_parity, False)
        except GateFailed:
            run.publish_reports(failed=True)
            raise


def _package(models: list[ModelBuild], platforms, meta: BundleMeta, out: Path, run: BuildRun, reporter: Reporter, unpacked: bool,
             require_complete_parity: bool, model_set: bool) -> BuildResult:
    summaries = {m.identity.meta.name: {"quality": m.identity.model.get("quality", {}), "config_sha256": m.identity.config_sha256}
                 for m in models}
    try:
        bundles, outcome = package(models, platforms, meta, out, run, reporter=reporter, unpacked=unpacked,
                                   require_complete_parity=require_complete_parity, model_set=model_set)
    except GateFailed as exc:
        if "parity" not in exc.details:
            raise
        failed = BuildResult([], False, False, exc.details["parity"], summaries, exc.details["not_verified"],
                             _reports(exc.details["reports"]), exc.details.get("emulated", []))
        raise GateFailed(str(exc), failed.summary()) from None
    parity = outcome.parity
    passed = not outcome.failed and len(outcome.not_verified) < len(parity)
    complete = not outcome.failed and not outcome.not_verified and not outcome.emulated
    return BuildResult(bundles, passed, complete, parity, summaries, outcome.not_verified, _reports(outcome.report_paths),
                       outcome.emulated)


def _reports(per_model: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A single model's report paths directly; a set's keyed by model name."""
    return next(iter(per_model.values())) if len(per_model) == 1 else per_model


def check_op_coverage(contexts: Sequence[ModelContext], platforms: Sequence[str], reporter: Reporter | None = None) -> None:
    """Op coverage for every module and every target of `platforms`: raises UnsupportedOpsError (exit 1)
    listing every unsupported op and node at once, before any conversion output is written."""
    from mobilekit.convert.coverage import coverage_report
    from mobilekit.core.errors import UnsupportedOpsError

    targets = sorted({t for p in platforms for t in platform_targets(p)})
    if reporter is not None:
        reporter.stage(f"checking op coverage for {', '.join(targets)}")
    problems = []
    for ctx in contexts:
        try:
            coverage_report(ctx.model, ctx.io, targets).require_supported()
        except UnsupportedOpsError as exc:
            problems.append((ctx.module, exc))
    if len(problems) == 1 and len(contexts) == 1:
        raise problems[0][1]
    if problems:
        raise UnsupportedOpsError("\n".join(f"module {name}: {exc}" for name, exc in problems),
                                  {name: exc.details for name, exc in problems})
