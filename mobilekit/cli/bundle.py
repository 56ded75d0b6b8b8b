"""`mobilekit bundle verify|sign|keygen`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command
from mobilekit.core.errors import EXIT_GATE_FAILED, EXIT_OK

app = typer.Typer(help="Inspect, verify and sign bundles.", no_args_is_help=True)

_SIGNATURE_NOTE = {"absent": "unsigned", "missing": "unsigned", "verified": "signature verified",
                   "not-checked": "signed, signature not checked (pass --pubkey)", "invalid": "signature INVALID"}


def _verify_human(s: dict[str, Any]) -> str:
    key = f", key {s['key_id']}" if s.get("key_id") else ""
    head = f"{'OK' if s['ok'] else 'FAILED'}: {s['bundle']} ({s['files']} files; {_SIGNATURE_NOTE[s['signature']]}{key})"
    return head + "".join(f"\n  ✗ {p}" for p in s["problems"])


@app.command("verify")
def verify_command(
    bundle: Path = typer.Argument(..., help="Bundle zip."),
    pubkey: Optional[Path] = typer.Option(None, "--pubkey", "-k", help="Ed25519 public key (PEM, `bundle keygen`'s .pub): also require a valid signature by it."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Check the zip's structure, re-hash every file, validate the manifest schema and, with --pubkey, the
    signature. Exit 1 on any problem (the bundle is bad), 2 when the bundle or key file cannot be read."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.bundle.reader import NotABundle, verify_bundle

        try:
            result = verify_bundle(bundle, pubkey)
        except NotABundle as exc:  # not a zip, truncated, no manifest: a bad bundle, reported like any other
            return {"bundle": str(bundle), "ok": False, "problems": [str(exc)], "files": 0, "signed": False,
                    "signature": "absent", "key_id": None}
        return {"bundle": str(bundle), "ok": result.ok, "problems": result.problems,
                "files": len(files) if isinstance(files := (result.manifest or {}).get("files"), dict) else 0,
                "signed": result.signed, "signature": result.signature, "key_id": result.key_id}

    run_command(action, json_mode, quiet, _verify_human, lambda s: EXIT_OK if s["ok"] else EXIT_GATE_FAILED)


@app.command("sign")
def sign_command(
    bundle: Path = typer.Argument(..., help="Bundle zip (must verify)."),
    key: Path = typer.Option(..., "--key", "-k", help="Ed25519 private key (PEM, from `bundle keygen`)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the signed bundle here (default: replace BUNDLE atomically)."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Add signature.json (Ed25519 over manifest.json) to a bundle that verifies. Same key and bundle give
    the same bytes. Exit 2 when the bundle does not verify or the key cannot be read."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.bundle.writer import sign_bundle

        return sign_bundle(bundle, key, out)

    run_command(action, json_mode, quiet, lambda s: f"signed: {s['bundle']} ({s['files']} files; key {s['key_id']})")


@app.command("keygen")
def keygen_command(
    out: Path = typer.Option(..., "--out", "-o", help="Private key file to create (mode 0600); the public key goes to OUT.pub."),
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Create an Ed25519 signing key pair for `bundle sign` / `bundle verify --pubkey`. Never overwrites (exit 2)."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.bundle.signing import generate_keypair

        return generate_keypair(out)

    run_command(action, json_mode, quiet,
                lambda s: f"private key: {s['private_key']} (keep it secret)\npublic key: {s['public_key']} (key {s['key_id']})")
