"""Reading bundles safely: `open_bundle` for every reader, `verify_bundle` for `bundle verify`.

Both go through `core/zipcheck.SafeZip` (duplicate names, traversal, links, hidden bytes, bombs,
encryption refused up front; content inflated with a bound and CRC-checked) and cross-check the zip
against the manifest: every file entry except `manifest.json` and `signature.json` is listed in
`files`, with the size the zip declares.
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from pydantic import ValidationError

from mobilekit.bundle.manifest import MANIFEST_NAME, SIGNATURE_NAME, manifest_model
from mobilekit.core.errors import InputError
from mobilekit.core.zipcheck import SafeZip, ZipLimits, ZipRefused

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_MANIFEST_BYTES = 64 << 20
_UNLISTED = {MANIFEST_NAME, SIGNATURE_NAME}


class NotABundle(InputError):
    """The file exists but is no mobilekit bundle at all (not a zip, truncated, no or unreadable manifest)."""


@dataclass
class VerifyResult:
    bundle: Path
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: dict | None = None
    signed: bool = False
    signature: str = "absent"  # absent | missing (a key was given) | not-checked | verified | invalid
    key_id: str | None = None


@dataclass
class OpenBundle:
    """A checked bundle: its zip (read entries with `zip.read`/`zip.stream`: verified) and manifest."""

    zip: SafeZip
    manifest: dict[str, Any]
    manifest_bytes: bytes


def _open_zip(bundle: Path, limits: ZipLimits | None) -> SafeZip:
    if not bundle.is_file():
        raise InputError(f"{bundle}: bundle not found")
    try:
        return SafeZip(bundle, limits)
    except ZipRefused as exc:
        if exc.readable:
            raise
        raise NotABundle(f"{bundle}: not a mobilekit bundle: {exc.problems[0]}") from None


def _load_manifest(zf: SafeZip, bundle: Path) -> tuple[dict[str, Any], bytes]:
    if MANIFEST_NAME not in zf:
        raise NotABundle(f"{bundle}: not a mobilekit bundle (no {MANIFEST_NAME})")
    raw = zf.read(MANIFEST_NAME, max_bytes=MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotABundle(f"{bundle}: not a mobilekit bundle ({MANIFEST_NAME} is not JSON: {exc})") from None
    if not isinstance(manifest, dict):
        raise NotABundle(f"{bundle}: not a mobilekit bundle ({MANIFEST_NAME} is not a JSON object)")
    return manifest, raw


def listing_problems(zf: SafeZip, manifest: dict[str, Any]) -> list[str]:
    """The zip's file entries against the manifest's `files`: unlisted, missing, declared-size mismatches."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        return [f"{MANIFEST_NAME}: `files` is not an object"]
    members = set(zf.names) - _UNLISTED
    problems = [f"entry {name!r}: present in the zip but not listed in the manifest" for name in sorted(members - set(files))]
    for name in sorted(set(files) - members):
        problems.append(f"{name!r}: reserved for the bundle itself; must not be listed in the manifest's files"
                        if name in _UNLISTED else f"entry {name!r}: listed in the manifest but missing from the zip")
    for name in sorted(members & set(files)):
        listed = files[name].get("size") if isinstance(files[name], dict) else None
        if listed != zf.entry(name).size:
            problems.append(f"entry {name!r}: size mismatch (zip {zf.entry(name).size} B, manifest {listed} B)")
    return problems


@contextlib.contextmanager
def open_bundle(bundle: Path, limits: ZipLimits | None = None) -> Iterator[OpenBundle]:
    """A structurally checked bundle whose entries match its manifest's listing; InputError naming the
    entry otherwise. Entry contents are checked (size, CRC) as they are read."""
    with _open_zip(bundle, limits) as zf:
        manifest, raw = _load_manifest(zf, bundle)
        if problems := listing_problems(zf, manifest):
            raise ZipRefused(bundle, problems)
        yield OpenBundle(zf, manifest, raw)


def read_manifest(bundle: Path) -> dict:
    """The manifest of a bundle that passes the structural and listing checks and whose every entry
    inflates to its declared size and CRC (InputError naming the entry otherwise). Hashes against the
    manifest are `verify_bundle`'s job."""
    with open_bundle(bundle) as opened:
        opened.zip.check_contents()
        return opened.manifest


def _signature(zf: SafeZip, manifest_bytes: bytes, public_key: Ed25519PublicKey | None, result: VerifyResult) -> None:
    if SIGNATURE_NAME not in zf:
        if public_key is not None:
            result.signature = "missing"
            result.problems.append(f"{SIGNATURE_NAME}: missing (the bundle is not signed)")
        return
    from mobilekit.bundle.signing import MAX_SIGNATURE_BYTES, check_signature

    result.signed = True
    try:
        document = zf.read(SIGNATURE_NAME, max_bytes=MAX_SIGNATURE_BYTES)
    except ZipRefused as exc:
        result.signature = "invalid"
        result.problems += exc.problems
        return
    check = check_signature(manifest_bytes, document, public_key)
    result.signature, result.key_id = check.status, check.key_id
    result.problems += check.problems


def verify_bundle(bundle: Path, pubkey: Path | Ed25519PublicKey | None = None, *,
                  limits: ZipLimits | None = None) -> VerifyResult:
    """Check the zip's structure, re-hash every file against the manifest, validate its schema and, with
    `pubkey`, require a valid signature. Problems go into the result (`ok: False`); `NotABundle` when the
    file is no bundle at all, `InputError` when it or the key cannot be read."""
    public_key = None
    if pubkey is not None:
        from mobilekit.bundle.signing import load_public_key

        public_key = load_public_key(Path(pubkey)) if isinstance(pubkey, (str, Path)) else pubkey
    try:
        zf = _open_zip(bundle, limits)
    except ZipRefused as exc:
        return VerifyResult(bundle, False, exc.problems)
    with zf:
        try:
            manifest, raw = _load_manifest(zf, bundle)
        except ZipRefused as exc:
            return VerifyResult(bundle, False, exc.problems)
        result = VerifyResult(bundle, True, manifest=manifest)
        try:
            manifest_model(manifest).model_validate(manifest)
        except ValidationError as exc:
            result.problems += [f"manifest schema: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        listing = listing_problems(zf, manifest)
        result.problems += listing
        files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        for name in sorted((set(zf.names) - _UNLISTED) & set(files)):
            if any(f"entry {name!r}:" in p for p in listing):
                continue  # its declared size already disagrees with the manifest
            try:
                digest, _ = zf.hash(name)
            except ZipRefused as exc:
                result.problems += exc.problems
                continue
            if not isinstance(files[name], dict) or digest != files[name].get("sha256"):
                result.problems.append(f"entry {name!r}: sha256 mismatch (zip {digest[:12]}…)")
        _signature(zf, raw, public_key, result)
    result.ok = not result.problems
    return result
