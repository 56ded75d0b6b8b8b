"""Hostile bundle zips: every reader refuses them with a one-line reason naming the entry, never a traceback.

Each case is crafted from a small, valid bundle (bundle/writer.py) with zipfile's low-level tricks or
by patching header bytes, then run through `mobilekit bundle verify --json` (exit 1, `ok: false`,
JSON last) and through `read_manifest` / `safe_extract_zip` (InputError, nothing extracted).
"""
from __future__ import annotations

import io
import json
import random
import re
import shutil
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import last_json
from conftest import run_cli_in_process as run_cli
from mobilekit.bundle.reader import read_manifest, verify_bundle
from mobilekit.bundle.writer import write_manifest, zip_tree
from mobilekit.core.errors import InputError
from mobilekit.core.fsio import safe_extract_zip
from mobilekit.core.zipcheck import SafeZip, ZipLimits

MODEL = "models/fake.tflite"
PAYLOAD = random.Random(0).randbytes(2048) + bytes(2048)  # compressible, but not trivially


def bundle_manifest() -> dict:
    tensor = {"dtype": "float32", "description": "", "normalization": {}, "kind": "tensor"}
    return {
        "schema_version": "1.1", "name": "fake", "version": "0.1.0", "platform": "android", "family": "segmentation",
        "preset": "tiny", "description": "", "author": "t", "license": "MIT", "created": "1980-01-01T00:00:00Z",
        "config_sha256": "0" * 64, "files": {}, "inputs": [{**tensor, "name": "image", "shape": [1, 8, 8, 3]}],
        "outputs": [{**tensor, "name": "mask", "shape": [1, 8, 8, 1]}],
        "artifacts": [{"target": "tflite", "path": MODEL, "precision": "fp32", "bytes": len(PAYLOAD), "details": {}}],
        "parity": {}, "parity_passed": True, "parity_complete": True, "optimization": {}, "custom_kernels": [],
        "model": {}, "toolchain": {},
    }


def make_bundle(tmp_path: Path, name: str = "good.zip", payload: bytes = PAYLOAD) -> Path:
    root = tmp_path / f"stage-{name}"
    (root / "models").mkdir(parents=True)
    (root / "parity").mkdir()
    (root / MODEL).write_bytes(payload)
    (root / "parity" / "parity.json").write_text('{"passed": true}\n')
    write_manifest(root, bundle_manifest())
    zip_tree(root, tmp_path / name)
    return tmp_path / name


def entries(bundle: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(bundle) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def craft(path: Path, items: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names; that is the point here
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in items:
                zf.writestr(name, data)
    return path


def _headers(data: bytes, name: str) -> tuple[int, int]:
    """(local header offset, central header offset) of `name`."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        pos, local = zf.start_dir, zf.getinfo(name).header_offset
    while data[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<3H", data, pos + 28)
        if data[pos + 46:pos + 46 + n].decode() == name:
            return local, pos
        pos += 46 + n + m + k
    raise AssertionError(name)


def patch(path: Path, name: str, *, size: int | None = None, crc: int | None = None, flags: int = 0,
          local_name: str | None = None, offset_of: str | None = None) -> Path:
    """Rewrite header fields of `name` in place: both copies of size/CRC/flags, the local name, or the
    central directory's pointer to its local header."""
    data = bytearray(path.read_bytes())
    local, central = _headers(bytes(data), name)
    if size is not None:
        struct.pack_into("<L", data, local + 22, size)
        struct.pack_into("<L", data, central + 24, size)
    if crc is not None:
        struct.pack_into("<L", data, local + 14, crc)
        struct.pack_into("<L", data, central + 16, crc)
    if flags:
        struct.pack_into("<H", data, local + 6, struct.unpack_from("<H", data, local + 6)[0] | flags)
        struct.pack_into("<H", data, central + 8, struct.unpack_from("<H", data, central + 8)[0] | flags)
    if local_name is not None:
        data[local + 30:local + 30 + len(name)] = local_name.encode()
    if offset_of is not None:
        struct.pack_into("<L", data, central + 42, _headers(bytes(data), offset_of)[0])
    path.write_bytes(bytes(data))
    return path


# -- the cases: (build the hostile zip from a good bundle, entry it names, reason, readers refusing) ----

def _duplicate(good: Path, out: Path) -> Path:
    items = entries(good)
    at = [n for n, _ in items].index(MODEL)
    return craft(out, items[:at] + [(MODEL, b"EVIL" * 100)] + items[at:])  # the first copy differs


def _extra(name: str, data: bytes = b"x") -> Callable[[Path, Path], Path]:
    return lambda good, out: craft(out, entries(good) + [(name, data)])


def _symlink(good: Path, out: Path) -> Path:
    link = zipfile.ZipInfo("models/link")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    return craft(out, entries(good) + [(link, b"/etc/passwd")])


def _flipped(good: Path, out: Path) -> Path:
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo(MODEL)
    start = info.header_offset + 30 + len(MODEL)
    data[start + info.compress_size // 2] ^= 0x5A  # one byte in the middle of the deflate stream
    out.write_bytes(bytes(data))
    return out


def _lying_small(good: Path, out: Path) -> Path:
    """The manifest and headers say PAYLOAD (size, CRC); the deflate stream holds far more."""
    items = [(n, PAYLOAD + bytes(1 << 20) if n == MODEL else d) for n, d in entries(good)]
    return patch(craft(out, items), MODEL, size=len(PAYLOAD), crc=zlib.crc32(PAYLOAD))


def _lying_large(good: Path, out: Path) -> Path:
    return patch(craft(out, entries(good)), MODEL, size=len(PAYLOAD) + 10)


def _bomb(good: Path, out: Path) -> Path:
    return craft(out, entries(good) + [("models/zeros.bin", bytes(16 << 20))])


def _resized(good: Path, out: Path) -> Path:
    return craft(out, [(n, d + b"!" if n == MODEL else d) for n, d in entries(good)])


def _prepended(good: Path, out: Path) -> Path:
    out.write_bytes(b"MZ\x90\x00" * 8 + good.read_bytes())
    return out


def _trailing(good: Path, out: Path) -> Path:
    out.write_bytes(good.read_bytes() + b"PK\x03\x04 hidden")
    return out


def _copy(good: Path, out: Path) -> Path:
    out.write_bytes(good.read_bytes())
    return out


BOTH, MANIFEST_ONLY = ("manifest", "extract"), ("manifest",)
CASES = {  # id: (builder, entry named, reason regex, readers that refuse it)
    "duplicate-name": (_duplicate, MODEL, "duplicate entry name", BOTH),
    "case-collision": (_extra("models/FAKE.tflite"), "models/FAKE.tflite", "collides with", BOTH),
    "dotdot": (_extra("../evil.txt"), "../evil.txt", "outside the archive root", BOTH),
    "nested-dotdot": (_extra("models/../../evil.txt"), "models/../../evil.txt", "outside the archive root", BOTH),
    "absolute": (_extra("/tmp/evil.txt"), "/tmp/evil.txt", "absolute path", BOTH),
    "backslash": (_extra("models\\..\\..\\evil.txt"), "models\\\\..\\\\..\\\\evil.txt", "backslash", BOTH),
    "drive-letter": (_extra("C:/evil.txt"), "C:/evil.txt", "drive letter", BOTH),
    "symlink": (_symlink, "models/link", "symbolic link", BOTH),
    "file-and-folder": (_extra("models"), "models", "both a file and a folder", BOTH),
    "encrypted": (lambda g, o: patch(_copy(g, o), MODEL, flags=0x1), MODEL, "encrypted", BOTH),
    "ratio-bomb": (_bomb, "models/zeros.bin", r"compression ratio \d+:1 exceeds 200:1 \(zip bomb\)", BOTH),
    "flipped-byte": (_flipped, MODEL, "corrupt|CRC mismatch|lying size|truncated|after the end", BOTH),
    "declared-size-too-small": (_lying_small, MODEL, r"inflates past its declared \d+ bytes", BOTH),
    "declared-size-too-large": (_lying_large, MODEL, "size mismatch|lying size", BOTH),
    "local-name-differs": (lambda g, o: patch(_copy(g, o), "parity/parity.json", local_name="parity/evil!!.json"),
                           "parity/parity.json", "its local header names it 'parity/evil!!.json'", BOTH),
    "overlapping-entries": (lambda g, o: patch(_copy(g, o), "parity/parity.json", offset_of=MODEL),
                            "parity/parity.json", "overlaps the previous entry|local header names it", BOTH),
    "prepended-bytes": (_prepended, None, r"32 bytes prepended", BOTH),
    "trailing-bytes": (_trailing, None, r"\d+ bytes after the end of the archive", BOTH),
    "truncated": (lambda g, o: o.write_bytes(g.read_bytes()[:-200]) and o, None, "not a zip archive, or truncated", BOTH),
    "not-a-zip": (lambda g, o: o.write_bytes(b"not a zip at all") and o, None, "not a zip archive, or truncated", BOTH),
    "unlisted-entry": (_extra("extra.txt"), "extra.txt", "present in the zip but not listed in the manifest", MANIFEST_ONLY),
    "size-differs-from-manifest": (_resized, MODEL, r"size mismatch \(zip 4097 B, manifest 4096 B\)", MANIFEST_ONLY),
    "no-manifest": (lambda g, o: craft(o, [(n, d) for n, d in entries(g) if n != "manifest.json"]), None,
                    "no manifest.json", MANIFEST_ONLY),
}


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    return make_bundle(tmp_path)


def _build(case: str, good: Path) -> Path:
    return CASES[case][0](good, good.with_name(f"{case}.zip"))


def _names_entry(reason: str, entry: str | None) -> bool:
    return entry is None or f"'{entry}'" in reason


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_bundle_fails_verify_naming_the_entry(good: Path, case: str) -> None:
    _, entry, reason, _ = CASES[case]
    path = _build(case, good)
    proc = run_cli("bundle", "verify", str(path), "--json")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    summary = last_json(proc.stdout)
    assert summary["ok"] is False and summary["problems"], summary
    assert all("\n" not in p for p in summary["problems"])
    assert any(re.search(reason, p) and _names_entry(p, entry) for p in summary["problems"]), summary["problems"]


def test_human_output_lists_each_problem_on_its_own_line(good: Path) -> None:
    proc = run_cli("bundle", "verify", str(_build("duplicate-name", good)))
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 1 and lines[0].startswith("FAILED: ") and lines[1].startswith("  ✗ entry 'models/fake.tflite'")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_bundle_is_refused_by_readers(good: Path, case: str) -> None:
    _, entry, reason, refusing = CASES[case]
    path = _build(case, good)
    with pytest.raises(InputError, match=reason) as refused:
        read_manifest(path)
    assert "\n" not in str(refused.value) and _names_entry(str(refused.value), entry)
    dest = good.parent / "unpacked" / "dest"
    if "extract" in refusing:
        with pytest.raises(InputError) as refused:
            safe_extract_zip(path, dest)
        assert "\n" not in str(refused.value)
        staging = good.parent / "unpacked"
        assert not dest.exists() and (not staging.exists() or not list(staging.iterdir()))  # no partial staging left
        assert not (good.parent / "evil.txt").exists() and not (good.parent / "unpacked" / "evil.txt").exists()
    else:
        safe_extract_zip(path, dest)  # structurally sound: only the manifest's listing is wrong


def test_the_two_reported_bugs(good: Path) -> None:
    """A duplicate entry used to verify OK (Python reads the last copy); a flipped byte was a traceback."""
    assert not verify_bundle(_build("duplicate-name", good)).ok
    result = verify_bundle(_build("flipped-byte", good))
    assert not result.ok and MODEL in result.problems[0]


def test_total_size_cap_refuses_before_extracting(good: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"entry '[^']+': declared uncompressed size passes the 1000-byte limit \(zip bomb\)"):
        safe_extract_zip(good, tmp_path / "dest", max_bytes=1000)
    assert not (tmp_path / "dest").exists()
    with pytest.raises(InputError, match="entries exceed the limit of 2"):
        SafeZip(good, ZipLimits(max_entries=2))


def test_valid_bundle_verifies_and_extracts_into_an_existing_folder(good: Path, tmp_path: Path) -> None:
    proc = run_cli("bundle", "verify", str(good), "--json")
    assert proc.returncode == 0 and last_json(proc.stdout) == {
        "bundle": str(good), "ok": True, "problems": [], "files": 2, "signed": False, "signature": "absent", "key_id": None}
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("kept")
    safe_extract_zip(good, dest)
    assert (dest / MODEL).read_bytes() == PAYLOAD and (dest / "keep.txt").read_text() == "kept"
    assert read_manifest(good)["name"] == "fake"


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream: zipfile then writes data descriptors after each entry."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # noqa: ANN001
        self.buffer += data
        return len(data)


def test_streamed_zip_with_data_descriptors_and_folder_entries_verifies(good: Path, tmp_path: Path) -> None:
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as zf:
        for folder in ("models/", "parity/"):
            zf.writestr(folder, b"")
        for name, data in entries(good):
            zf.writestr(name, data)
    streamed = tmp_path / "streamed.zip"
    streamed.write_bytes(bytes(pipe.buffer))
    with zipfile.ZipFile(streamed) as zf:
        assert all(i.flag_bits & 0x8 for i in zf.infolist() if not i.is_dir())
    assert verify_bundle(streamed).ok, verify_bundle(streamed).problems
    safe_extract_zip(streamed, tmp_path / "out")
    assert (tmp_path / "out" / MODEL).read_bytes() == PAYLOAD


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(0, 1, exclude_max=True), mask=st.integers(1, 255), cut=st.booleans())
def test_any_single_byte_change_is_refused_or_harmless(tmp_path_factory, position: float, mask: int, cut: bool) -> None:
    """Flip one byte (or truncate there): readers raise InputError only, and whatever still verifies
    yields exactly the original files to every reader."""
    base = tmp_path_factory.getbasetemp() / "fuzz"
    if not (base / "good.zip").exists():
        base.mkdir(exist_ok=True)
        make_bundle(base)
    good = base / "good.zip"
    data = bytearray(good.read_bytes())
    at = int(position * len(data))
    if cut:
        data = data[:at]
    else:
        data[at] ^= mask
    path = base / "mutated.zip"
    path.write_bytes(bytes(data))
    try:
        result = verify_bundle(path)
    except InputError:
        result = None
    dest = base / "out"
    shutil.rmtree(dest, ignore_errors=True)
    try:
        safe_extract_zip(path, dest)
        extracted = {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    except InputError:
        extracted = None
        assert not dest.exists()
    if result is not None and result.ok:
        original = dict(entries(good))
        assert extracted == original
        with zipfile.ZipFile(path) as zf:  # Python's own reader sees the same bytes
            assert {i.filename: zf.read(i) for i in zf.infolist()} == original
        assert json.loads(original["manifest.json"]) == read_manifest(path)
