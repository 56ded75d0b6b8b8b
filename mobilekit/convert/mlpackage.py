"""Make a saved `.mlpackage` byte-reproducible: coremltools writes random item identifiers
into `Manifest.json` on every save; we derive them from each item's path instead."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

_NAMESPACE = uuid.UUID("6f2b0c3e-7a43-4d0e-9d59-9f1c1b5d6a10")


def normalize_mlpackage(package: Path) -> None:
    manifest_path = package / "Manifest.json"
    manifest = json.loads(manifest_path.read_text())
    remap = {old: str(uuid.uuid5(_NAMESPACE, entry["path"])).upper() for old, entry in manifest["itemInfoEntries"].items()}
    manifest["itemInfoEntries"] = {remap[old]: entry for old, entry in sorted(manifest["itemInfoEntries"].items(), key=lambda kv: remap[kv[0]])}
    manifest["rootModelIdentifier"] = remap[manifest["rootModelIdentifier"]]
    manifest_path.write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n")
