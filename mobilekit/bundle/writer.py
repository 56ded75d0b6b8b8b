"""Deterministic bundle zips: sorted entries, fixed timestamps and permissions, atomic replace; signing."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable

from mobilekit.bundle.manifest import MANIFEST_NAME, SIGNATURE_NAME, manifest_model
from mobilekit.core.clock import artifact_datetime
from mobilekit.core.errors import GateFailed, InputError
from mobilekit.core.faults import fault_point
from mobilekit.core.fsio import sha256_file, staging_dir

FILE_MODE = 0o100644
DateTime = tuple[int, int, int, int, int, int]


def list_files(root: Path) -> list[str]:
    """Every file under `root`, sorted, except a top-level `signature.json`: a rewritten tree gets a new
    manifest, so an old signature would be stale (sign again after the rewrite)."""
    return sorted(rel for rel in (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
                  if rel != SIGNATURE_NAME)


def file_table(root: Path) -> dict[str, dict[str, Any]]:
    return {rel: {"sha256": sha256_file(root / rel), "size": (root / rel).stat().st_size}
            for rel in list_files(root) if rel != MANIFEST_NAME}


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Fill in `files` from the staged tree, validate against the schema, and write it."""
    manifest = {**manifest, "files": file_table(root)}
    manifest_model(manifest).model_validate(manifest)
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def write_zip(destination: Path, entries: Iterable[tuple[str, bytes, DateTime]],
              check: Callable[[Path], None] | None = None, tag: str = "") -> None:
    """Write `(name, data, date_time)` entries in order with the bundle's fixed settings (deflate 9,
    mode 0644) beside `destination`; `check` may refuse the finished file; then rename into place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{destination.name}.{tag}." if tag else f".{destination.name}."  # tag: the writing run's id
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".partial", dir=destination.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name, data, date_time in entries:
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = FILE_MODE << 16
                zf.writestr(info, data, compresslevel=9)
        os.chmod(tmp, 0o644)
        if check is not None:
            check(Path(tmp))
        fault_point("zip-written")
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def zip_tree(root: Path, destination: Path, tag: str = "") -> None:
    """Zip `root` deterministically into `destination` (written beside it, then renamed); `tag` names
    the partial file after the run writing it (mobilekit.pipeline.run_guard sweeps dead runs' partials)."""
    stamp = artifact_datetime().timetuple()[:6]
    write_zip(destination, ((rel, (root / rel).read_bytes(), stamp) for rel in list_files(root)), tag=tag)


def publish_unpacked(root: Path, destination: Path) -> None:
    """Copy the staged tree to `destination` atomically (the unpacked-bundle option)."""
    import shutil

    with staging_dir(destination) as tmp:
        shutil.copytree(root, tmp, dirs_exist_ok=True)


def sign_bundle(bundle: Path, key: Path, out: Path | None = None) -> dict[str, Any]:
    """Add (or replace) `signature.json` in a bundle that verifies, writing `out` (default: in place)
    atomically. Other entries keep their bytes and timestamps; the signature entry takes the manifest's
    timestamp, so the same key and bundle always give the same bytes."""
    from mobilekit.bundle.reader import open_bundle, verify_bundle
    from mobilekit.bundle.signing import key_id, load_private_key, signature_document

    private = load_private_key(key)
    checked = verify_bundle(bundle)
    if not checked.ok:
        raise InputError(f"{bundle}: the bundle fails verification, refusing to sign it: " + "; ".join(checked.problems[:3]))
    destination = out or bundle
    public = private.public_key()

    def confirm(tmp: Path) -> None:
        result = verify_bundle(tmp, public)
        if not result.ok:
            raise GateFailed(f"{bundle}: the signed bundle does not verify: " + "; ".join(result.problems[:3]))

    with open_bundle(bundle) as opened:
        zf = opened.zip
        document = signature_document(opened.manifest_bytes, private)
        names = sorted(set(zf.names) | {SIGNATURE_NAME})
        stamp = zf.entry(MANIFEST_NAME).date_time
        write_zip(destination, ((n, document, stamp) if n == SIGNATURE_NAME else (n, zf.read(n), zf.entry(n).date_time)
                                for n in names), check=confirm)
    return {"bundle": str(destination), "source": str(bundle), "key_id": key_id(public), "signed": True,
            "replaced_signature": checked.signed, "files": len(checked.manifest.get("files", {}))}
