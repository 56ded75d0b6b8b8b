"""File-system helpers: atomic writes and replacement, hashing, safe archive extraction."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from mobilekit.core.errors import InputError


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def disk_bytes(path: Path) -> int:
    """On-disk size of a file, or of every file under a directory (e.g. an .mlpackage)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a sibling temp file, fsync, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """Yield a temp directory beside `final`; on success it replaces `final` atomically
    (a previous good `final` survives any failure or interruption)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def safe_extract_zip(archive: Path, dest: Path, *, max_bytes: int = 4 << 30) -> None:
    """Extract after `core/zipcheck.SafeZip`'s checks (traversal, absolute paths, links, duplicate names,
    hidden bytes, encryption, zip bombs; every entry's size and CRC): InputError naming the entry, and
    nothing written to `dest`, on any problem. `max_bytes` caps the total uncompressed size."""
    from mobilekit.core.zipcheck import SafeZip, ZipLimits

    with SafeZip(archive, ZipLimits(max_total_bytes=max_bytes)) as zf:
        zf.extract_all(dest)
