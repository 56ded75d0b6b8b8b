"""`bundle verify`: re-hash every file and validate the manifest schema without extracting."""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from mobilekit.bundle.manifest import MANIFEST_NAME, manifest_model
from mobilekit.core.errors import InputError


@dataclass
class VerifyResult:
    bundle: Path
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: dict | None = None


def _hash_member(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with zf.open(name) as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def read_manifest(bundle: Path) -> dict:
    try:
        with zipfile.ZipFile(bundle) as zf:
            return json.loads(zf.read(MANIFEST_NAME))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
        raise InputError(f"{bundle}: not a mobilekit bundle ({exc})") from exc


def verify_bundle(bundle: Path) -> VerifyResult:
    if not bundle.is_file():
        raise InputError(f"{bundle}: bundle not found")
    manifest = read_manifest(bundle)
    result = VerifyResult(bundle, True, manifest=manifest)
    try:
        manifest_model(manifest).model_validate(manifest)
    except ValidationError as exc:
        result.problems += [f"manifest schema: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    with zipfile.ZipFile(bundle) as zf:
        members = {i.filename for i in zf.infolist() if not i.is_dir()} - {MANIFEST_NAME}
        listed = manifest.get("files", {}) if isinstance(manifest.get("files"), dict) else {}
        for name in sorted(members - set(listed)):
            result.problems.append(f"{name}: present in the zip but not listed in the manifest")
        for name in sorted(set(listed) - members):
            result.problems.append(f"{name}: listed in the manifest but missing from the zip")
        for name in sorted(members & set(listed)):
            digest, size = _hash_member(zf, name)
            entry = listed[name]
            if not isinstance(entry, dict) or digest != entry.get("sha256") or size != entry.get("size"):
                result.problems.append(f"{name}: sha256/size mismatch (zip {digest[:12]}…/{size} B)")
    result.ok = not result.problems
    return result
