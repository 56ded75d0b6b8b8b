"""Ed25519 bundle signatures: keys, and the `signature.json` document over a manifest's exact bytes.

The signature lives inside the bundle, beside `manifest.json` (never listed in its `files`). It signs
the manifest's bytes as stored; the manifest holds the sha256 and size of every other file, so one
check covers the whole bundle. Ed25519 is deterministic: the same key and manifest give the same
document. `key_id` and `manifest_sha256` in the document only explain failures; trust comes from the
public key the verifier passes, never from the key the document names.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mobilekit.bundle.manifest import MANIFEST_NAME, SIGNATURE_NAME
from mobilekit.core.errors import InputError

FORMAT = "mobilekit-bundle-signature"
FORMAT_VERSION = 1
ALGORITHM = "ed25519"
MAX_SIGNATURE_BYTES = 64 << 10


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the sha256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_path(private_key: Path) -> Path:
    return private_key.with_name(private_key.name + ".pub")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, atomically (temp file beside it, then a hard link)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        raise InputError(f"{path}: already exists; refusing to overwrite a key") from None
    finally:
        os.unlink(tmp)


def generate_keypair(out: Path) -> dict[str, str]:
    """Write a new Ed25519 private key to `out` (PEM PKCS#8, mode 0600) and its public key to `out.pub`."""
    public_path = public_key_path(out)
    for path in (out, public_path):
        if path.exists() or path.is_symlink():
            raise InputError(f"{path}: already exists; refusing to overwrite a key")
    out.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_new(out, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem, 0o644)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return {"private_key": str(out), "public_key": str(public_path), "key_id": key_id(key.public_key())}


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted PEM Ed25519 private key (as `bundle keygen` writes); InputError otherwise."""
    data = _read_key_file(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InputError(f"{path}: an encrypted private key; bundle signing reads unencrypted PEM keys") from None
    except (ValueError, UnsupportedAlgorithm):
        hint = " (this is a public key; pass the private key)" if b"PUBLIC KEY" in data else ""
        raise InputError(f"{path}: not a PEM private key{hint}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 key ({type(key).__name__}); create one with `mobilekit bundle keygen`")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM (SubjectPublicKeyInfo) or OpenSSH `ssh-ed25519` public key; InputError otherwise."""
    data = _read_key_file(path, "public key")
    if b"PRIVATE KEY" in data:
        raise InputError(f"{path}: a private key; pass the public key ({public_key_path(path).name})")
    try:
        key = (serialization.load_ssh_public_key(data.strip()) if data.startswith(b"ssh-")
               else serialization.load_pem_public_key(data))
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key ({type(key).__name__})")
    return key


def signature_document(manifest_bytes: bytes, key: Ed25519PrivateKey) -> bytes:
    """The `signature.json` bytes for a manifest (sorted keys: deterministic)."""
    public = key.public_key()
    raw_public = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "algorithm": ALGORITHM,
                "signed_file": MANIFEST_NAME, "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                "key_id": key_id(public), "public_key": base64.b64encode(raw_public).decode(),
                "signature": base64.b64encode(key.sign(manifest_bytes)).decode()}
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


@dataclass
class SignatureCheck:
    status: str  # "verified", "not-checked" (no public key given), "invalid"
    key_id: str | None = None
    problems: list[str] = field(default_factory=list)


def _decode_signature(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 64 else None


def check_signature(manifest_bytes: bytes, document: bytes, public_key: Ed25519PublicKey | None) -> SignatureCheck:
    """Parse `signature.json`; with a public key, verify it against the manifest bytes."""
    where = SIGNATURE_NAME
    try:
        doc = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        return SignatureCheck("invalid", None, [f"{where}: malformed (not JSON: {exc})"])
    if not isinstance(doc, dict) or (doc.get("format"), doc.get("format_version"), doc.get("algorithm"),
                                     doc.get("signed_file")) != (FORMAT, FORMAT_VERSION, ALGORITHM, MANIFEST_NAME):
        return SignatureCheck("invalid", None, [f"{where}: malformed (not a {FORMAT} version {FORMAT_VERSION} "
                                                f"{ALGORITHM} signature of {MANIFEST_NAME})"])
    named = doc.get("key_id") if isinstance(doc.get("key_id"), str) else None
    signature = _decode_signature(doc.get("signature"))
    if signature is None:
        return SignatureCheck("invalid", named, [f"{where}: malformed (`signature` is not 64 base64-encoded bytes)"])
    problems = []
    if doc.get("manifest_sha256") != hashlib.sha256(manifest_bytes).hexdigest():
        problems.append(f"{where}: made for a different {MANIFEST_NAME} (the manifest changed after signing)")
    if public_key is None:
        return SignatureCheck("invalid" if problems else "not-checked", named, problems)
    try:
        public_key.verify(signature, manifest_bytes)
    except InvalidSignature:
        expected = key_id(public_key)
        if named is not None and named != expected:
            problems.append(f"{where}: signed by key {named}, not by the given key {expected}")
        elif not problems:
            problems.append(f"{where}: the signature does not verify with the given key "
                            f"({MANIFEST_NAME} or {SIGNATURE_NAME} was altered)")
    return SignatureCheck("invalid" if problems else "verified", named, problems)
