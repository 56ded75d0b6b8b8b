"""Deterministic bundle zips: sorted entries, fixed timestamps and permissions, atomic replace."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from mobilekit.bundle.manifest import MANIFEST_NAME, manifest_model
from mobilekit.core.clock import artifact_datetime
from mobilekit.core.fsio import sha256_file, staging_dir

FILE_MODE = 0o100644


def list_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def file_table(root: Path) -> dict[str, dict[str, Any]]:
    return {rel: {"sha256": sha256_file(root / rel), "size": (root / rel).stat().st_size}
            for rel in list_files(root) if rel != MANIFEST_NAME}


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Fill in `files` from the staged tree, validate against the schema, and write it."""
    manifest = {**manifest, "files": file_table(root)}
    manifest_model(manifest).model_validate(manifest)
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def zip_tree(root: Path, destination: Path) -> None:
    """Zip `root` deterministically into `destination` (written beside it, then renamed)."""
    stamp = artifact_datetime().timetuple()[:6]
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for rel in list_files(root):
                info = zipfile.ZipInfo(rel, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = FILE_MODE << 16
                zf.writestr(info, (root / rel).read_bytes(), compresslevel=9)
        os.chmod(tmp, 0o644)
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_unpacked(root: Path, destination: Path) -> None:
    """Copy the staged tree to `destination` atomically (the unpacked-bundle option)."""
    import shutil

    with staging_dir(destination) as tmp:
        shutil.copytree(root, tmp, dirs_exist_ok=True)
