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
from mobilekit.core.config import BuildConfig, load_config
from mobilekit.core.errors import GateFailed
from mobilekit.core.progress import Reporter, SilentReporter
from mobilekit.core.toolchain import toolchain_versions
from mobilekit.models import get_family
from mobilekit.parity.compare import ParityResult

ALL_PLATFORMS = ("ios", "android")


@dataclass
class BuildResult:
    bundles: list[Path]
    parity_passed: bool
    parity_complete: bool
    parity: dict[str, dict[str, Any]]
    quality: dict[str, float]
    config_sha256: str
    not_verified: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "bundles": [str(p) for p in self.bundles],
            "parity_passed": self.parity_passed,
            "parity_complete": self.parity_complete,
            "not_verified": self.not_verified,
            "parity": self.parity,
            "quality": self.quality,
            "config_sha256": self.config_sha256,
        }


def resolve_platforms(platform: str) -> tuple[str, ...]:
    from mobilekit.stages import platform_targets

    chosen = ALL_PLATFORMS if platform == "all" else (platform,)
    for name in chosen:
        platform_targets(name)
    return chosen


def bundle_stem(config: BuildConfig, platform: str) -> str:
    return f"{config.bundle.name}-{config.bundle.version}-{platform}"


def build(platform: str = "ios", config_path: Path | str | None = None, out_dir: Path | str = "dist", *,
          reporter: Reporter | None = None, unpacked: bool = False, require_complete_parity: bool = False) -> BuildResult:
    """Build bundles for `platform` ("ios", "android" or "all"). Raises GateFailed (exit 1) when a
    parity gate fails, or — with `require_complete_parity` — when a gate could not run here."""
    config, _ = load_config(config_path)  # validation happens before any heavy work
    platforms = resolve_platforms(platform)
    reporter = reporter or SilentReporter()
    out_dir = Path(out_dir)

    from mobilekit.stages import ModelContext, convert_artifact, platform_targets, reference_outputs, verify_artifact
    from mobilekit.train.trainer import train

    family = get_family(config.family)
    with tempfile.TemporaryDirectory(prefix="mobilekit-build-") as work_str:
        work = Path(work_str)
        reporter.stage(f"training {config.family}/{config.preset} (seed {config.seed})")
        trained = train(config, work / "train", progress=reporter.progress)
        if trained.cached:
            reporter.stage("reusing the cached trained model (same training config)")
        from mobilekit.core.loading import load_keras_model

        ctx = ModelContext(load_keras_model(trained.model_path), family.io(config), trained.model_path, config, family)
        reporter.stage("evaluating on held-out data")
        quality = family.evaluate(_keras_predict(ctx), config)
        inputs = ctx.family.make_split(config, "parity").inputs
        reference = reference_outputs(ctx, inputs)

        parity: dict[str, dict[str, Any]] = {}
        staged: list[tuple[str, Path]] = []
        for name in platforms:
            stage = work / "bundles" / bundle_stem(config, name)
            artifacts, results = [], []
            for target in platform_targets(name):
                reporter.stage(f"{name}: converting to {target}")
                artifact = convert_artifact(ctx, target, stage / "models")
                reporter.stage(f"{name}: parity of {artifact.path.name}")
                result = verify_artifact(ctx, artifact.path, artifact.precision, inputs, reference)
                for line in result.checks:
                    reporter.stage(f"  {line}")
                if result.status == "not_run":
                    reporter.warn(f"{target} parity NOT verified: {result.note}")
                artifacts.append(artifact)
                results.append(result)
                parity[f"{name}/{artifact.path.relative_to(stage).as_posix()}"] = result.to_dict()
            _write_parity_report(stage, results)
            write_manifest(stage, _manifest(config, name, ctx, artifacts, results, stage, quality, trained.params))
            staged.append((name, stage))

        failed = [key for key, r in parity.items() if r["status"] == "failed"]
        not_verified = [key for key, r in parity.items() if r["status"] == "not_run"]
        result = BuildResult([], not failed and len(not_verified) < len(parity), not failed and not not_verified,
                             parity, quality, config.sha256(), not_verified)
        if failed or (require_complete_parity and not_verified):
            reason = f"parity failed for {', '.join(failed)}" if failed else f"parity not verified for {', '.join(not_verified)}"
            raise GateFailed(f"{reason}; no bundle published", result.summary())
        for name, stage in staged:
            destination = out_dir / f"{bundle_stem(config, name)}.zip"
            zip_tree(stage, destination)
            if unpacked:
                publish_unpacked(stage, out_dir / bundle_stem(config, name))
            result.bundles.append(destination)
        return result


def _keras_predict(ctx):
    from mobilekit.convert.tracing import call_serving, serving_function

    fn = serving_function(ctx.model, ctx.io)
    return lambda inputs: call_serving(fn, inputs)


def _write_parity_report(stage: Path, results: Sequence[ParityResult]) -> None:
    (stage / "parity").mkdir(parents=True, exist_ok=True)
    (stage / "parity" / "parity.json").write_text(json.dumps([r.to_dict() for r in results], indent=2, sort_keys=True) + "\n")


def _manifest(config: BuildConfig, platform: str, ctx, artifacts, results: Sequence[ParityResult], stage: Path,
              quality: dict[str, float], params: int) -> dict[str, Any]:
    def size(path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size

    meta = config.bundle
    return {
        "schema_version": "1.0",
        "name": meta.name, "version": meta.version, "platform": platform,
        "family": config.family, "preset": config.preset,
        "description": meta.description, "author": meta.author, "license": meta.license,
        "created": artifact_timestamp_iso(),
        "config_sha256": config.sha256(),
        "inputs": [t.to_manifest() for t in ctx.io.inputs],
        "outputs": [t.to_manifest() for t in ctx.io.outputs],
        "artifacts": [{"target": a.target, "path": a.path.relative_to(stage).as_posix(), "precision": a.precision,
                       "bytes": size(a.path), "details": a.details} for a in artifacts],
        "parity": {a.path.relative_to(stage).as_posix(): r.to_dict() for a, r in zip(artifacts, results)},
        "parity_passed": not any(r.status == "failed" for r in results) and any(r.status == "passed" for r in results),
        "parity_complete": all(r.status == "passed" for r in results),
        "optimization": {"applied": []},
        "custom_kernels": [],
        "model": {"params": params, "quality": quality, "labels": list(ctx.family.labels)},
        "toolchain": toolchain_versions(),
        "files": {},
    }
