"""Device-QA reference: rebuilding and validating the TensorFlow reference model context for a bundle."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from mobilekit.core.errors import GateFailed, InputError


def family_or_none(name: str):
    """The registered model family, or None (models bundled without a family have no task metric)."""
    from mobilekit.core.family import get_family

    try:
        return get_family(name)
    except KeyError:
        return None


def task_metric_name(family: str) -> str | None:
    """The fixture index's `task_metric`: the family's first output task metric (format v1 names one)."""
    found = family_or_none(family)
    return next((m.spec.name for _, m in sorted(found.task_metrics.items())), None) if found else None


def end_to_end_artifacts(manifest: Mapping[str, Any]) -> list[str]:
    """Paths of the artifacts that take the manifest's inputs and give its outputs: those of the
    end-to-end module (every artifact in bundles without modules)."""
    main = next((m for m in manifest.get("modules", []) if m["name"] == "main"), None)
    return sorted(main["artifacts"]) if main else sorted(a["path"] for a in manifest["artifacts"])


def _io_matches(ctx, manifest: Mapping[str, Any]) -> list[str]:
    problems = []
    for side, infos in (("inputs", ctx.io.inputs), ("outputs", ctx.io.outputs)):
        want = [(e["name"], list(e["shape"])) for e in manifest[side]]
        have = [(t.name, list(t.shape)) for t in infos]
        if want != have:
            problems.append(f"{side}: bundle {want} vs reference {have}")
    return problems


def reference_context(manifest: Mapping[str, Any], *, config_path: Path | None = None, reference: Path | None = None,
                      trust: bool = False, work: Path, reporter=None):
    """The TensorFlow reference that built the bundle: `reference` (a trained model), else the model
    trained from `config_path` (the training cache makes this fast). Refuses (InputError) a config or
    model whose hash differs from the bundle's `config_sha256`, or whose I/O differs from the manifest's."""
    import hashlib

    from mobilekit.convert.context import load_context

    expected = manifest["config_sha256"]
    if reference is not None and config_path is not None:
        raise InputError("pass either --reference or --config, not both")
    if reference is not None:
        if not reference.exists():
            raise InputError(f"{reference}: reference model not found")
        ctx = load_context(reference, trust=trust)
        actual = ctx.config.sha256() if ctx.config else hashlib.sha256(ctx.model.to_json().encode()).hexdigest()
        source = f"{reference} (config in its model.json)" if ctx.config else str(reference)
    else:
        from mobilekit.core.config import load_config
        from mobilekit.train.trainer import train

        config, resolved = load_config(config_path)
        actual, source = config.sha256(), str(resolved)
        if actual != expected:
            raise InputError(f"{source}: config sha256 {actual[:12]}… differs from the bundle's config_sha256 {expected[:12]}…; "
                             "this config did not build the bundle (pass the one that did, or --reference MODEL)")
        if reporter is not None:
            reporter.stage(f"training the reference from {resolved.name} (reused from the cache when unchanged)")
        trained = train(config, work / "train", progress=reporter.progress if reporter is not None else None)
        ctx = load_context(trained.model_path)
    if actual != expected:
        raise InputError(f"{source}: hash {actual[:12]}… differs from the bundle's config_sha256 {expected[:12]}…; "
                         "this model was not trained with the config that built the bundle")
    if problems := _io_matches(ctx, manifest):
        raise InputError(f"{source}: model I/O differs from the bundle's manifest: " + "; ".join(problems))
    return ctx


def _self_check(ctx, root: Path, manifest: Mapping[str, Any], inputs, expected, reporter) -> dict[str, dict[str, Any]]:
    """Run each bundled artifact on the golden inputs (its build-time gate runner) against the goldens:
    proves the goldens belong to this bundle. A failure raises GateFailed; a check that cannot run here is
    recorded as not run."""
    from mobilekit.convert.base import Artifact
    from mobilekit.parity.mil_custom_ops import verify_converted

    checks = {}
    wanted = set(end_to_end_artifacts(manifest))
    for entry in (e for e in manifest["artifacts"] if e["path"] in wanted):
        artifact = Artifact(entry["target"], root / entry["path"], entry["precision"], dict(entry.get("details", {})))
        result = verify_converted(ctx, artifact, dict(inputs), dict(expected))
        checks[entry["path"]] = {"status": result.status, "runner": result.runner, "note": result.note}
        if reporter is not None:
            reporter.stage(f"self-check {entry['path']}: {result.status} ({result.runner})")
        if result.status == "failed":
            raise GateFailed(f"{entry['path']} does not reproduce the reference outputs on the fixture inputs "
                             f"({'; '.join(c for c in result.checks if c.startswith('✗'))}); the reference is not the model "
                             "this bundle was built from, no fixtures written", {"self_check": checks})
    return checks
