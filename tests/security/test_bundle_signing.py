"""Signed bundles: `bundle keygen`, `bundle sign`, `bundle verify --pubkey` (Ed25519 over manifest.json)."""
from __future__ import annotations

import base64
import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import last_json
from conftest import run_cli_in_process as run_cli
from mobilekit.bundle.reader import verify_bundle
from mobilekit.bundle.signing import generate_keypair
from mobilekit.bundle.writer import sign_bundle, write_manifest, write_zip, zip_tree
from mobilekit.core.errors import InputError
from mobilekit.core.fsio import safe_extract_zip
from test_bundle_hostile import MODEL, entries, make_bundle


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    info = generate_keypair(tmp_path / "keys" / "bundle.key")
    return Path(info["private_key"]), Path(info["public_key"])


@pytest.fixture()
def signed(tmp_path: Path, keys: tuple[Path, Path]) -> Path:
    bundle = make_bundle(tmp_path, "signed.zip")
    sign_bundle(bundle, keys[0])
    return bundle


def _verify(bundle: Path, *extra: str):
    proc = run_cli("bundle", "verify", str(bundle), "--json", *extra)
    assert "Traceback" not in proc.stderr
    return proc, last_json(proc.stdout)


def _rezip(bundle: Path, out: Path, change: dict[str, bytes]) -> Path:
    """Rewrite `bundle` with some entries replaced, keeping everything else (the old signature too)."""
    items = [(n, change.get(n, d), (1980, 1, 1, 0, 0, 0)) for n, d in entries(bundle)]
    write_zip(out, items)
    return out


def test_keygen_writes_a_private_key_0600_and_a_public_key_and_never_overwrites(tmp_path: Path) -> None:
    key = tmp_path / "k" / "release.key"
    proc = run_cli("bundle", "keygen", "--out", str(key), "--json")
    assert proc.returncode == 0, proc.stderr
    info = last_json(proc.stdout)
    assert info["private_key"] == str(key) and info["public_key"] == str(key) + ".pub" and len(info["key_id"]) == 16
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert Path(info["public_key"]).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    before = key.read_bytes()
    again = run_cli("bundle", "keygen", "--out", str(key), "--json")
    assert again.returncode == 2 and "refusing to overwrite" in last_json(again.stdout)["error"]
    assert key.read_bytes() == before and sorted(p.name for p in key.parent.iterdir()) == ["release.key", "release.key.pub"]
    key.unlink()  # the .pub alone also blocks a new pair
    assert run_cli("bundle", "keygen", "--out", str(key)).returncode == 2 and not key.exists()


def test_sign_then_verify_round_trip_through_the_cli(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    bundle = make_bundle(tmp_path)
    signed = tmp_path / "out" / "signed.zip"
    proc = run_cli("bundle", "sign", str(bundle), "--key", str(keys[0]), "--out", str(signed), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = last_json(proc.stdout)
    assert summary["bundle"] == str(signed) and summary["signed"] is True and not summary["replaced_signature"]
    assert zipfile.ZipFile(bundle).namelist() == ["manifest.json", MODEL, "parity/parity.json"]  # source untouched
    with zipfile.ZipFile(signed) as zf:
        assert zf.namelist() == ["manifest.json", MODEL, "parity/parity.json", "signature.json"]
        manifest = json.loads(zf.read("manifest.json"))
        assert "signature.json" not in manifest["files"]
    proc, out = _verify(signed, "--pubkey", str(keys[1]))
    assert proc.returncode == 0 and out["ok"] and out["signature"] == "verified" and out["key_id"] == summary["key_id"]
    proc, out = _verify(signed)  # no key: hashes checked, the signature reported as not checked
    assert proc.returncode == 0 and out["ok"] and out["signed"] and out["signature"] == "not-checked"
    human = run_cli("bundle", "verify", str(signed))
    assert human.returncode == 0 and "signed, signature not checked (pass --pubkey)" in human.stdout


def test_signature_covers_exactly_the_manifest_bytes(signed: Path, keys: tuple[Path, Path]) -> None:
    """What an app checks: Ed25519(public key, signature.json's signature, manifest.json as stored)."""
    with zipfile.ZipFile(signed) as zf:
        manifest, document = zf.read("manifest.json"), json.loads(zf.read("signature.json"))
    public = serialization.load_pem_public_key(keys[1].read_bytes())
    public.verify(base64.b64decode(document["signature"]), manifest)  # raises if not
    assert document["algorithm"] == "ed25519" and document["signed_file"] == "manifest.json"


def test_signing_is_deterministic_and_idempotent(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    one, two = make_bundle(tmp_path, "one.zip"), make_bundle(tmp_path, "two.zip")
    assert one.read_bytes() == two.read_bytes()
    sign_bundle(one, keys[0])
    sign_bundle(two, keys[0])
    assert one.read_bytes() == two.read_bytes()
    first = one.read_bytes()
    assert sign_bundle(one, keys[0])["replaced_signature"] is True
    assert one.read_bytes() == first  # re-signing with the same key changes nothing
    # every other entry keeps its bytes: dropping signature.json gives back the unsigned bundle's entries
    assert [e for e in entries(one) if e[0] != "signature.json"] == entries(make_bundle(tmp_path, "three.zip"))


def test_a_changed_file_with_a_rehashed_manifest_fails_with_the_key(tmp_path: Path, signed: Path, keys) -> None:
    unpacked = tmp_path / "unpacked"
    safe_extract_zip(signed, unpacked)
    (unpacked / MODEL).write_bytes(b"TROJAN")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    write_manifest(unpacked, manifest)  # hashes now match the changed file
    tampered = _rezip(signed, tmp_path / "tampered.zip", {MODEL: b"TROJAN",
                                                          "manifest.json": (unpacked / "manifest.json").read_bytes()})
    proc, out = _verify(tampered, "--pubkey", str(keys[1]))
    assert proc.returncode == 1 and out["signature"] == "invalid"
    assert any("signature.json: made for a different manifest.json" in p for p in out["problems"])
    # the stale signature is a problem even without the key
    proc, out = _verify(tampered)
    assert proc.returncode == 1 and any("made for a different manifest.json" in p for p in out["problems"])
    # an attacker who also fixes the informational digest still fails the cryptographic check
    document = json.loads(zipfile.ZipFile(tampered).read("signature.json"))
    document["manifest_sha256"] = hashlib.sha256((unpacked / "manifest.json").read_bytes()).hexdigest()
    forged = _rezip(tampered, tmp_path / "forged.zip", {"signature.json": json.dumps(document).encode()})
    assert verify_bundle(forged).ok  # without a key nothing can tell: the point of --pubkey
    proc, out = _verify(forged, "--pubkey", str(keys[1]))
    assert proc.returncode == 1 and out["problems"] == [
        "signature.json: the signature does not verify with the given key (manifest.json or signature.json was altered)"]


def test_wrong_key_missing_and_malformed_signatures_fail(tmp_path: Path, signed: Path, keys) -> None:
    other = generate_keypair(tmp_path / "other.key")
    proc, out = _verify(signed, "--pubkey", other["public_key"])
    assert proc.returncode == 1 and out["signature"] == "invalid"
    assert out["problems"] == [f"signature.json: signed by key {out['key_id']}, not by the given key {other['key_id']}"]
    unsigned = make_bundle(tmp_path, "unsigned.zip")
    proc, out = _verify(unsigned, "--pubkey", str(keys[1]))
    assert proc.returncode == 1 and out["signature"] == "missing" and out["problems"] == [
        "signature.json: missing (the bundle is not signed)"]
    for junk, reason in ((b"{", "malformed (not JSON"), (b'{"format": "x"}', "malformed (not a mobilekit-bundle-signature"),
                         (json.dumps({**json.loads(zipfile.ZipFile(signed).read("signature.json")), "signature": "AAAA"}).encode(),
                          "malformed (`signature` is not 64 base64-encoded bytes)")):
        broken = _rezip(signed, tmp_path / "broken.zip", {"signature.json": junk})
        for key in (None, keys[1]):
            result = verify_bundle(broken, key)
            assert not result.ok and result.signature == "invalid" and any(reason in p for p in result.problems), result
    proc, out = _verify(broken, "--pubkey", str(keys[1]))
    assert proc.returncode == 1 and out["signature"] == "invalid" and out["problems"][0].startswith("signature.json: malformed")


def test_sign_refuses_a_bundle_that_does_not_verify_and_leaves_it_untouched(tmp_path: Path, keys) -> None:
    bundle = make_bundle(tmp_path)
    bad = _rezip(bundle, tmp_path / "bad.zip", {MODEL: b"changed"})
    before = bad.read_bytes()
    proc = run_cli("bundle", "sign", str(bad), "--key", str(keys[0]), "--json")
    assert proc.returncode == 2 and "fails verification, refusing to sign" in last_json(proc.stdout)["error"]
    assert bad.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bundle.read_bytes()[:-100])
    proc = run_cli("bundle", "sign", str(corrupt), "--key", str(keys[0]), "--json")
    assert proc.returncode == 2 and "not a mobilekit bundle" in last_json(proc.stdout)["error"]


def test_key_arguments_are_checked(tmp_path: Path, signed: Path, keys) -> None:
    with pytest.raises(InputError, match="this is a public key; pass the private key"):
        sign_bundle(signed, keys[1])
    with pytest.raises(InputError, match="a private key; pass the public key"):
        verify_bundle(signed, keys[0])
    with pytest.raises(InputError, match="cannot read the public key"):
        verify_bundle(signed, tmp_path / "nope.pub")
    proc = run_cli("bundle", "verify", str(signed), "--pubkey", str(keys[0]), "--json")
    assert proc.returncode == 2 and "private key" in last_json(proc.stdout)["error"]


def test_rewriting_a_signed_tree_drops_the_stale_signature(tmp_path: Path, signed: Path, keys) -> None:
    """`qa fixtures` extracts, changes and re-zips a bundle: the result is unsigned, and verifies."""
    root = tmp_path / "tree"
    safe_extract_zip(signed, root)
    assert (root / "signature.json").exists()
    (root / "fixtures").mkdir()
    (root / "fixtures" / "index.json").write_text("{}")
    write_manifest(root, json.loads((root / "manifest.json").read_text()))
    zip_tree(root, tmp_path / "rewritten.zip")
    assert "signature.json" not in zipfile.ZipFile(tmp_path / "rewritten.zip").namelist()
    result = verify_bundle(tmp_path / "rewritten.zip")
    assert result.ok and result.signature == "absent"
    sign_bundle(tmp_path / "rewritten.zip", keys[0])
    assert verify_bundle(tmp_path / "rewritten.zip", keys[1]).signature == "verified"
