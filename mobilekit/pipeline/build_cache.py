"""The verified-build cache: a rebuild with nothing changed re-verifies the last verified bundles
instead of converting and gating every model again.

A build whose gates all passed stores its bundles, its parity reports and its summary under a key
of everything that decides those bytes and verdicts: every config's canonical JSON (and the model
set's), the platforms, the source of the whole `mobilekit` package (training, conversion, parity,
bundling), the toolchain versions, `SOURCE_DATE_EPOCH` and the machine kind (which runners can
execute an artifact). Bundles are byte-for-byte deterministic for those inputs, so the stored
bundle is the one a full rebuild would write.

A hit re-hashes every file of each stored bundle against its manifest (`bundle verify`) before
publishing it; one that fails is a miss. `build --rebuild`, `MOBILEKIT_NO_BUILD_CACHE=1` or
`MOBILEKIT_NO_CACHE=1` (which also disables the training cache) always convert and gate again.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from mobilekit.core import cache
from mobilekit.parity.report import REPORT_FILES

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig, ModelSetConfig
    from mobilekit.pipeline.run_guard import BuildRun

STAGE = "build"
SUMMARY = "summary.json"


def build_cache_enabled() -> bool:
    return cache.cache_enabled() and os.environ.get("MOBILEKIT_NO_BUILD_CACHE", "") in ("", "0")


def _package_fingerprint() -> str:
    """Hash of every source and data file of the installed `mobilekit` package."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_key(configs: Sequence["BuildConfig"], model_set: "ModelSetConfig | None", platforms: Sequence[str]) -> str:
    from mobilekit.core.toolchain import toolchain_versions

    parts = {
        "configs": [c.canonical_json() for c in configs],
        "model_set": model_set.model_dump_json() if model_set is not None else None,
        "platforms": list(platforms),
        "package": _package_fingerprint(),
        "toolchain": toolchain_versions(),
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH"),
        "machine": [platform.system(), platform.machine()],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def store_build(key: str, summary: dict[str, Any], bundles: Sequence[Path], out: Path, folders: dict[str, str]) -> None:
    """Keep a passed build's bundles, report folders (per model name) and summary (paths relative to `out`)."""
    if not build_cache_enabled():
        return

    def fill(entry: Path) -> None:
        for bundle in bundles:
            shutil.copy2(bundle, entry / bundle.name)
        for folder in folders.values():
            shutil.copytree(out / "reports" / folder, entry / "reports" / folder)
        kept = {k: summary[k] for k in ("parity_passed", "parity_complete", "parity", "models", "not_verified", "emulated")}
        (entry / SUMMARY).write_text(json.dumps({**kept, "bundles": [b.name for b in bundles], "report_folders": dict(folders)},
                                                indent=2) + "\n")

    cache.store_entry(STAGE, key, fill)


def restore_build(key: str, out: Path, run: "BuildRun", require_complete_parity: bool,
                  note: Callable[[str], None]) -> dict[str, Any] | None:
    """Publish a cached verified build into `out` after re-verifying its bundles; its summary fields
    (bundle and report paths under `out`), or None on a miss."""
    from mobilekit.bundle.reader import verify_bundle

    entry = cache.cached_dir(STAGE, key) if build_cache_enabled() else None
    if entry is None:
        return None
    stored = json.loads((entry / SUMMARY).read_text())
    if require_complete_parity and (stored["not_verified"] or stored["emulated"]):
        return None  # the full path reports exactly which gate could not run here
    for name in stored["bundles"]:
        checked = verify_bundle(entry / name)
        if not checked.ok:
            note(f"cached bundle {name} fails re-verification ({'; '.join(checked.problems[:2])}): rebuilding")
            return None
    note(f"nothing changed since a verified build (key {key[:12]}): its bundles re-verified, converting and gating skipped")
    for folder in stored["report_folders"].values():
        shutil.copytree(entry / "reports" / folder, run.staging / "reports" / folder)
    bundles = []
    for name in stored["bundles"]:
        destination = out / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.{run.id}.", suffix=".partial", dir=out)
        os.close(fd)
        shutil.copyfile(entry / name, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, destination)
        bundles.append(destination)
    run.publish_reports(failed=False)
    reports = {name: {k: str(out / "reports" / folder / v) for k, v in REPORT_FILES.items()}
               for name, folder in stored["report_folders"].items()}
    return {**stored, "bundles": bundles, "report_paths": reports}
