"""Safe zip inspection: one structural check and one verified reader for every zip mobilekit accepts.

Python's `zipfile` trusts the central directory and reads the *last* of two same-named entries;
streaming extractors (Android's `ZipInputStream`, `unzip` on a pipe) walk the local headers and take
the first. `SafeZip` refuses, before any content is used, every archive on which two readers could
disagree (duplicate or colliding names, local and central headers that differ, hidden or overlapping
bytes, trailing or prepended data), every entry that could leave an extraction root (`..`, absolute
paths, backslashes, drive letters, links, special files), encrypted entries, unsupported methods,
and declared sizes beyond the limits. Content is then read only through `stream`/`read`/`extract_all`,
which inflate with a bound and check the real size and CRC of every byte; a corrupt entry is an
`InputError` naming it, never a `zipfile`/`zlib` traceback.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from mobilekit.core.errors import InputError

_LOCAL = struct.Struct("<4s5H3L2H")  # signature, version, flags, method, time, date, crc, csize, usize, name/extra len
_END = struct.Struct("<4s4H2LH")  # signature, disk, cd disk, entries here, entries, cd size, cd offset, comment len
_LOCAL_SIG, _END_SIG, _DESC_SIG = b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"
_FLAG_ENCRYPTED, _FLAG_DESCRIPTOR, _FLAG_STRONG, _FLAG_UTF8 = 0x1, 0x8, 0x40, 0x800
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1 << 16
# What zipfile.ZipFile(...) raises on a damaged directory (it has no single error type for it).
_PARSE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
                 UnicodeDecodeError, IndexError, KeyError, OverflowError, NotImplementedError)


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what an archive may declare (checked up front) and inflate to (checked while reading)."""

    max_entries: int = 10_000
    max_total_bytes: int = 4 << 30  # declared uncompressed bytes, all entries together
    max_ratio: float = 200.0  # uncompressed ÷ compressed, for entries of at least `ratio_min_bytes`
    ratio_min_bytes: int = 1 << 20


class ZipRefused(InputError):
    """An unsafe or corrupt archive; `problems` holds every reason (the message names the first)."""

    def __init__(self, archive: Path, problems: list[str], *, readable: bool = True) -> None:
        self.archive, self.problems, self.readable = archive, list(problems), readable
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"{archive}: {problems[0]}{more}")


@dataclass(frozen=True)
class ZipEntry:
    name: str
    is_dir: bool
    size: int  # declared uncompressed bytes
    compressed: int
    crc: int
    method: int
    offset: int  # of the local header
    date_time: tuple[int, int, int, int, int, int]
    data_offset: int = -1


def name_problem(name: str) -> str | None:
    """Why an entry name is unsafe to extract anywhere (None when it is a plain relative path)."""
    if not name:
        return "empty name"
    if "\x00" in name:
        return "NUL byte in the name"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "control character in the name"
    if "\\" in name:
        return "backslash in the name (a Windows path separator)"
    if name.startswith("/"):
        return "absolute path (outside the archive root)"
    if _DRIVE.match(name):
        return "drive letter (an absolute Windows path, outside the archive root)"
    if ":" in name:
        return "colon in the name (a drive letter or an NTFS stream)"
    parts = (name[:-1] if name.endswith("/") else name).split("/")
    if ".." in parts:
        return "path outside the archive root ('..')"
    if "" in parts or "." in parts:
        return "non-canonical path (an empty or '.' component)"
    return None


def _key(name: str) -> str:
    """Names that collide on a case-insensitive or Unicode-normalizing file system share a key."""
    return unicodedata.normalize("NFC", name.rstrip("/")).casefold()


def _entry_problems(info: zipfile.ZipInfo, limits: ZipLimits) -> list[str]:
    name, problems = info.orig_filename, []
    if reason := name_problem(name):
        problems.append(reason)
    kind = (info.external_attr >> 16) & 0o170000
    is_dir = name.endswith("/")
    if kind == 0o120000:
        problems.append("symbolic link")
    elif kind == 0o040000 and not is_dir:
        problems.append("marked as a directory but named like a file")
    elif kind not in (0, 0o100000, 0o040000):
        problems.append(f"special file (mode {oct(info.external_attr >> 16)})")
    if is_dir and info.file_size:
        problems.append("directory entry holding data")
    if info.flag_bits & (_FLAG_ENCRYPTED | _FLAG_STRONG):
        problems.append("encrypted entry")
    if info.compress_type not in _METHODS:
        problems.append(f"unsupported compression method {info.compress_type} (stored or deflate only)")
    elif info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        problems.append(f"stored entry whose sizes disagree ({info.compress_size} vs {info.file_size} bytes)")
    if info.file_size >= limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        problems.append(f"compression ratio {ratio:.0f}:1 exceeds {limits.max_ratio:.0f}:1 (zip bomb)")
    return [f"entry {name!r}: {p}" for p in problems]


class SafeZip:
    """A structurally checked zip archive; `ZipRefused` (an InputError) on any problem.

    Directory entries are allowed and skipped; `names` lists the files. Use as a context manager."""

    def __init__(self, path: Path, limits: ZipLimits | None = None) -> None:
        self.path, self.limits = Path(path), limits or ZipLimits()
        try:
            self._fh = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise ZipRefused(self.path, [f"cannot be read ({exc.strerror or exc})"], readable=False) from exc
        try:
            self.entries = self._check()
        except BaseException:
            self._fh.close()
            raise
        self._by_name = {e.name: e for e in self.entries if not e.is_dir}

    # -- structure ----------------------------------------------------------------------------

    def _check(self) -> list[ZipEntry]:
        size = os.fstat(self._fh.fileno()).st_size
        try:
            with zipfile.ZipFile(self._fh) as zf:  # a passed file object stays open
                infos, start_dir = zf.infolist(), zf.start_dir
        except _PARSE_ERRORS as exc:
            raise ZipRefused(self.path, [f"not a zip archive, or truncated ({exc})"], readable=False) from exc
        if len(infos) > self.limits.max_entries:
            raise ZipRefused(self.path, [f"{len(infos)} entries exceed the limit of {self.limits.max_entries}"])
        problems = self._end_problems(size, start_dir, len(infos))
        seen: dict[str, str] = {}
        files: dict[str, str] = {}
        folders: set[str] = set()
        total = 0
        for info in infos:
            name = info.orig_filename
            problems += _entry_problems(info, self.limits)
            key = _key(name)
            if key in seen:
                other = seen[key]
                problems.append(f"entry {name!r}: duplicate entry name" +
                                ("" if other == name else f" (collides with {other!r} on case-insensitive file systems)"))
            seen.setdefault(key, name)
            if not name.endswith("/"):
                files.setdefault(key, name)
            parts = key.split("/")
            folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
            total += info.file_size
            if total > self.limits.max_total_bytes >= total - info.file_size:
                problems.append(f"entry {name!r}: declared uncompressed size passes the {self.limits.max_total_bytes}-byte "
                                "limit (zip bomb)")
        problems += [f"entry {files[k]!r}: is both a file and a folder" for k in sorted(files.keys() & folders)]
        entries = [ZipEntry(i.orig_filename, i.orig_filename.endswith("/"), i.file_size, i.compress_size, i.CRC,
                            i.compress_type, i.header_offset, i.date_time) for i in infos]
        try:
            entries = self._layout(infos, entries, start_dir, problems)
        except (OSError, struct.error, ValueError) as exc:  # a damaged layout the checks above did not foresee
            problems.append(f"unreadable local headers ({exc})")
        if problems:
            raise ZipRefused(self.path, problems)
        return entries

    def _end_problems(self, size: int, start_dir: int, count: int) -> list[str]:
        """The end record is the archive's last bytes and agrees with the directory Python read."""
        tail_len = min(size, _END.size + 0xFFFF)
        self._fh.seek(size - tail_len)
        tail = self._fh.read(tail_len)
        quick = len(tail) >= _END.size and tail[-_END.size:-_END.size + 4] == _END_SIG and tail[-2:] == b"\0\0"
        pos = len(tail) - _END.size if quick else tail.rfind(_END_SIG)  # zipfile's own search
        if pos < 0 or pos + _END.size > len(tail):
            return ["no end-of-central-directory record"]
        _, _, _, _, entries, cd_size, cd_offset, comment = _END.unpack_from(tail, pos)
        problems = []
        trailing = len(tail) - (pos + _END.size + comment)
        if trailing:
            problems.append(f"{trailing} bytes after the end of the archive" if trailing > 0 else "truncated archive comment")
        if 0xFFFFFFFF in (cd_size, cd_offset) or entries == 0xFFFF:
            return problems  # zip64: zipfile has already read and cross-checked its own records
        if start_dir != cd_offset:
            problems.append(f"the archive does not start where its directory says ({start_dir - cd_offset} bytes "
                            "prepended or inserted)")
        if entries != count:
            problems.append(f"the end record lists {entries} entries, the central directory holds {count}")
        return problems

    def _layout(self, infos: list[zipfile.ZipInfo], entries: list[ZipEntry], start_dir: int, problems: list[str]) -> list[ZipEntry]:
        """Local headers match the central directory and entries tile the file: no gaps, no overlaps."""
        order = sorted(range(len(entries)), key=lambda i: entries[i].offset)
        expected = 0
        for n, i in enumerate(order):
            info, entry = infos[i], entries[i]
            label = f"entry {entry.name!r}"
            if entry.offset != expected:
                what = "overlaps the previous entry" if entry.offset < expected else \
                    f"{entry.offset - expected} unaccounted bytes before it (hidden data)"
                problems.append(f"{label}: {what}")
            if not 0 <= entry.offset < start_dir:
                problems.append(f"{label}: its local header offset {entry.offset} lies outside the archive")
                return entries
            self._fh.seek(entry.offset)
            head = self._fh.read(_LOCAL.size)
            if len(head) < _LOCAL.size or head[:4] != _LOCAL_SIG:
                problems.append(f"{label}: no local header at its offset (truncated or corrupt)")
                return entries
            _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = _LOCAL.unpack(head)
            raw = self._fh.read(name_len)
            local = raw.decode("utf-8" if flags & _FLAG_UTF8 else "cp437", errors="replace")
            if local != entry.name:
                problems.append(f"{label}: its local header names it {local!r} (readers would disagree)")
            if (flags ^ info.flag_bits) & (_FLAG_ENCRYPTED | _FLAG_DESCRIPTOR | _FLAG_STRONG) or method != entry.method:
                problems.append(f"{label}: local and central headers disagree on flags or compression method")
            elif not flags & _FLAG_DESCRIPTOR and (crc != entry.crc or
                                                   csize not in (entry.compressed, 0xFFFFFFFF) or
                                                   usize not in (entry.size, 0xFFFFFFFF)):
                problems.append(f"{label}: local and central headers disagree on CRC or sizes")
            data = entry.offset + _LOCAL.size + name_len + extra_len
            entries[i] = entry = replace(entry, data_offset=data)
            end = data + entry.compressed
            following = entries[order[n + 1]].offset if n + 1 < len(order) else start_dir
            if end > start_dir:
                problems.append(f"{label}: its data runs past the start of the central directory (truncated or corrupt)")
                return entries
            if flags & _FLAG_DESCRIPTOR:
                end = self._descriptor_end(entry, end, following, problems)
            expected = end
        if expected != start_dir and order:
            gap = start_dir - expected
            problems.append(f"{gap} unaccounted bytes between the last entry and the central directory (hidden data)"
                            if gap > 0 else f"entry {entries[order[-1]].name!r}: overlaps the central directory")
        return entries

    def _descriptor_end(self, entry: ZipEntry, end: int, following: int, problems: list[str]) -> int:
        self._fh.seek(end)
        blob = self._fh.read(max(0, min(following - end, 24)))
        skip = 4 if blob[:4] == _DESC_SIG else 0
        width = {12: "<LLL", 20: "<LQQ"}.get(len(blob) - skip)
        if width is None or struct.unpack(width, blob[skip:]) != (entry.crc, entry.compressed, entry.size):
            problems.append(f"entry {entry.name!r}: its data descriptor disagrees with the central directory")
            return end
        return end + len(blob)

    # -- content ------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """The file entries (directory entries excluded), in directory order."""
        return list(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def entry(self, name: str) -> ZipEntry:
        try:
            return self._by_name[name]
        except KeyError:
            raise InputError(f"{self.path}: no entry {name!r}") from None

    def _bad(self, entry: ZipEntry, reason: str) -> ZipRefused:
        return ZipRefused(self.path, [f"entry {entry.name!r}: {reason}"])

    def stream(self, name: str) -> Iterator[bytes]:
        """The entry's bytes in chunks, inflated with a bound; its real size and CRC are checked at the end
        (a consumer must not trust the chunks until the iterator is exhausted without `ZipRefused`)."""
        entry = self.entry(name)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS) if entry.method == zipfile.ZIP_DEFLATED else None
        left, produced, crc = entry.compressed, 0, 0
        try:
            self._fh.seek(entry.data_offset)
            while left:
                raw = self._fh.read(min(_CHUNK, left))
                if not raw:
                    raise self._bad(entry, "compressed data is truncated")
                left -= len(raw)
                while raw:
                    if inflater is None:
                        piece, raw = raw, b""
                    elif inflater.eof:
                        raise self._bad(entry, "bytes after the end of its compressed stream")
                    else:
                        piece = inflater.decompress(raw, _CHUNK)
                        raw = inflater.unconsumed_tail
                    produced += len(piece)
                    if produced > entry.size:
                        raise self._bad(entry, f"inflates past its declared {entry.size} bytes (zip bomb or lying size)")
                    crc = zlib.crc32(piece, crc)
                    yield piece
                if inflater is not None and inflater.eof and (left or inflater.unused_data):
                    raise self._bad(entry, "bytes after the end of its compressed stream")
        except zlib.error as exc:
            raise self._bad(entry, f"corrupt compressed data ({exc})") from None
        except OSError as exc:
            raise self._bad(entry, f"cannot be read ({exc})") from None
        if inflater is not None and not inflater.eof:
            raise self._bad(entry, "compressed data ends early (truncated or corrupt)")
        if produced != entry.size:
            raise self._bad(entry, f"holds {produced} bytes, its header declares {entry.size} (lying size)")
        if crc != entry.crc:
            raise self._bad(entry, "CRC mismatch (corrupt data)")

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The whole verified entry; `max_bytes` refuses larger ones before inflating."""
        entry = self.entry(name)
        if max_bytes is not None and entry.size > max_bytes:
            raise self._bad(entry, f"{entry.size} bytes, more than the {max_bytes} allowed here")
        return b"".join(self.stream(name))

    def hash(self, name: str) -> tuple[str, int]:
        """(sha256 hex, size) of the verified entry."""
        digest, size = hashlib.sha256(), 0
        for piece in self.stream(name):
            digest.update(piece)
            size += len(piece)
        return digest.hexdigest(), size

    def check_contents(self) -> None:
        """Inflate every file entry once (bounded), checking its real size and CRC; ZipRefused on the first bad one."""
        for name in self.names:
            for _ in self.stream(name):
                pass

    def extract_all(self, dest: Path) -> None:
        """Extract into `dest` through a staging folder beside it: on any problem nothing reaches `dest`."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
        try:
            for entry in self.entries:
                target = stage / entry.name
                if entry.is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as handle:
                    for piece in self.stream(entry.name):
                        handle.write(piece)
            if not dest.exists():
                os.chmod(stage, 0o755)  # mkdtemp's 0700 is for the staging only
                os.replace(stage, dest)
                return
            root = dest.resolve()
            for path in sorted(stage.rglob("*")):
                target = dest / path.relative_to(stage)
                if path.is_dir():
                    target.mkdir(exist_ok=True)
                elif not target.parent.resolve().is_relative_to(root):
                    raise InputError(f"{self.path}: refusing to extract {path.relative_to(stage).as_posix()!r} through "
                                     f"a link in {dest}")
                else:
                    os.replace(path, target)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
