"""File-level validation of model files, before anything deserializes them.

`validate_model_file(path) -> kind` checks that a file is what its name says and is whole: a `.keras`
zip whose members pass their CRC and hold a JSON `config.json`, an HDF5 file h5py can open, a
SavedModel whose `saved_model.pb` parses, a TFLite flatbuffer whose tables and indices are in range
(and that LiteRT's flatbuffer verifier accepts), a Core ML package whose manifest, spec and weight
blobs are consistent, an ONNX protobuf. Anything else is an `InputError` (exit 2) with one line
naming the file and what is wrong, so a truncated, bit-flipped or random file never reaches a
deserializer that answers with a traceback, or a native library that could crash the process.

What the checks cannot see: a bit flip inside raw weight bytes of a format without checksums (HDF5
datasets, TFLite buffers, Core ML weight blobs) is a different but well-formed model; the parity
gate is what catches that. `.keras` archives carry a CRC per member, so any flip there is caught."""
from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

from mobilekit.nn.artifact_files import _bad, _reason, _unsafe_member, _validate_mlpackage, _validate_onnx, _validate_tflite

KINDS = ("keras", "h5", "savedmodel", "tflite", "mlpackage", "onnx")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_ARCHIVE_BYTES = 32 << 30  # declared uncompressed size of a .keras archive (a zip bomb is refused)
SUPPORTED = ".keras, .h5/.hdf5, a SavedModel directory, .tflite, .mlpackage or .onnx"


def validate_model_file(path: Path | str) -> str:
    """The kind of model file `path` is ('keras', 'h5', 'savedmodel', 'tflite', 'mlpackage' or
    'onnx'), after checking it is readable and whole; `InputError` naming the file otherwise."""
    path = Path(path)
    if not path.exists():
        raise _bad(path, "model not found")
    suffix = path.suffix.lower()
    if path.is_dir():
        if suffix == ".mlpackage":
            _validate_mlpackage(path)
            return "mlpackage"
        if (path / "saved_model.pb").is_file():
            _validate_savedmodel(path)
            return "savedmodel"
        raise _bad(path, "directory is not a SavedModel (no saved_model.pb) nor a Core ML .mlpackage")
    if suffix == ".mlpackage":
        raise _bad(path, "a Core ML .mlpackage is a directory, this is a file")
    validators: dict[str, tuple[str, Callable[[Path, bytes], None]]] = {
        ".keras": ("keras", _validate_keras_archive), ".h5": ("h5", _validate_h5), ".hdf5": ("h5", _validate_h5),
        ".tflite": ("tflite", _validate_tflite), ".onnx": ("onnx", _validate_onnx),
    }
    if suffix not in validators:
        raise _bad(path, f"unsupported model format (expected {SUPPORTED})")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise _bad(path, f"cannot read the file ({_reason(exc)})") from None
    if size == 0:
        raise _bad(path, "empty file (0 bytes)")
    kind, validate = validators[suffix]
    validate(path, head)
    return kind


# --- .keras ------------------------------------------------------------------------------------

def _validate_keras_archive(path: Path, head: bytes) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _bad(path, f"not a .keras archive: not a readable zip file ({_reason(exc)})") from None
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if bad := next((n for n in names if _unsafe_member(n)), None):
            raise _bad(path, f"archive member name {bad!r} points outside the archive (path traversal)")
        if len(set(names)) != len(names):
            raise _bad(path, "the archive holds the same member name twice")
        if sum(info.file_size for info in infos) > MAX_ARCHIVE_BYTES:
            raise _bad(path, f"the archive declares more than {MAX_ARCHIVE_BYTES >> 30} GiB of content (a zip bomb?)")
        try:
            failed = archive.testzip()  # reads every member and checks its CRC-32
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise _bad(path, f"corrupt .keras archive ({_reason(exc)})") from None
        if failed is not None:
            raise _bad(path, f"corrupt .keras archive: member {failed} fails its CRC check")
        if "config.json" not in names:
            raise _bad(path, "not a .keras archive: no config.json")
        for member, required in (("config.json", True), ("metadata.json", False)):
            if member not in names:
                continue
            try:
                data = json.loads(archive.read(member).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                raise _bad(path, f"{member} is not valid JSON ({_reason(exc)})") from None
            if not isinstance(data, dict):
                raise _bad(path, f"{member} is not a JSON object")
        if "model.weights.h5" in names:
            with archive.open("model.weights.h5") as member:
                if member.read(8) != HDF5_SIGNATURE:
                    raise _bad(path, "model.weights.h5 inside the archive is not an HDF5 file")
            info = archive.getinfo("model.weights.h5")
            if info.compress_type == zipfile.ZIP_STORED:  # Keras stores it: check it in place, like an .h5 file
                with path.open("rb") as outer:
                    member = _StoredMember(outer, _data_offset(outer, info), info.file_size)
                    _check_h5(path, lambda: _h5py().File(member, "r"), info.file_size, "model.weights.h5: ")


def _data_offset(handle, info: zipfile.ZipInfo) -> int:
    """Where a member's bytes start: after its local header (whose name/extra lengths may differ from the
    central directory's)."""
    handle.seek(info.header_offset)
    header = handle.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    return info.header_offset + 30 + name_len + extra_len


class _StoredMember(io.RawIOBase):
    """A stored (uncompressed) zip member as a seekable file: h5py reads it in place, O(1) seeks."""

    def __init__(self, handle, start: int, size: int) -> None:
        super().__init__()
        self._handle, self._start, self._size, self._pos = handle, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._pos))
        if count == 0:
            return 0
        self._handle.seek(self._start + self._pos)
        data = self._handle.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


# --- .h5 ---------------------------------------------------------------------------------------

def _h5py():
    import h5py

    return h5py


def _validate_h5(path: Path, head: bytes) -> None:
    size = path.stat().st_size
    if head[:8] != HDF5_SIGNATURE and not _userblock_signature(path, size):
        raise _bad(path, "not an HDF5 file (no HDF5 signature)")
    _check_h5(path, lambda: _h5py().File(path, "r"), size, "")


def _userblock_signature(path: Path, size: int) -> bool:
    """HDF5 allows a user block before the superblock: the signature at 512, 1024, 2048, ... bytes."""
    offset = 512
    with path.open("rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            if handle.read(8) == HDF5_SIGNATURE:
                return True
            offset *= 2
    return False


def _check_h5(path: Path, open_file: Callable[[], Any], size: int, prefix: str) -> None:
    """h5py opens it (it checks the superblock and the end-of-file address), every object's metadata
    is readable, contiguous datasets lie inside the file, no link or dataset reaches another file,
    and a `model_config` attribute is JSON."""
    h5py = _h5py()
    try:
        with open_file() as handle:
            problem = _walk_h5(handle, size, h5py)
            raw = handle.attrs.get("model_config")
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, RuntimeError, ... on corrupt files
        raise _bad(path, f"{prefix}not a readable HDF5 file ({_reason(exc)})") from None
    if problem:
        raise _bad(path, prefix + problem)
    if raw is not None:
        try:
            config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise _bad(path, f"{prefix}the model_config attribute is not valid JSON ({_reason(exc)})") from None
        if not isinstance(config, dict):
            raise _bad(path, f"{prefix}the model_config attribute is not a JSON object")


def _walk_h5(group, size: int, h5py, seen: set | None = None) -> str | None:
    seen = set() if seen is None else seen
    if hash(group.id) in seen:  # hard links can make a group its own descendant
        return None
    seen.add(hash(group.id))
    for key in group:
        link = group.get(key, getlink=True)
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            return f"HDF5 {'external' if isinstance(link, h5py.ExternalLink) else 'soft'} link {group.name.rstrip('/')}/{key} (refused: it can reach other files or objects)"
        item = group[key]
        if isinstance(item, h5py.Group):
            if problem := _walk_h5(item, size, h5py, seen):
                return problem
        elif isinstance(item, h5py.Dataset):
            if item.is_virtual or item.external:
                return f"HDF5 dataset {item.name} reads its data from another file (refused)"
            _ = item.shape, item.dtype
            offset = item.id.get_offset()
            if offset is not None and offset + item.id.get_storage_size() > size:
                return f"HDF5 dataset {item.name} lies past the end of the file (truncated)"
    return None


# --- SavedModel --------------------------------------------------------------------------------

def parse_saved_model(path: Path):
    """The `SavedModel` proto of `path/saved_model.pb`, parsed, not loaded; `InputError` if it is not one."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString((path / "saved_model.pb").read_bytes())
    except (DecodeError, Exception) as exc:  # noqa: BLE001 - the pure-Python protobuf raises more than DecodeError
        raise _bad(path, f"saved_model.pb is not a valid SavedModel ({_reason(exc)})") from None
    if not proto.meta_graphs or not any(meta.HasField("graph_def") for meta in proto.meta_graphs):
        raise _bad(path, "saved_model.pb is not a valid SavedModel (no meta graph)")
    return proto


def _validate_savedmodel(path: Path) -> None:
    if (path / "saved_model.pb").stat().st_size == 0:
        raise _bad(path, "saved_model.pb is empty (0 bytes)")
    parse_saved_model(path)
    variables = path / "variables"
    if variables.is_dir():
        shards = [p.name for p in variables.glob("variables.data-*-of-*")]
        if not (variables / "variables.index").is_file() and shards:
            raise _bad(path, "variables/variables.index is missing")
        totals = {int(m.group(1)) for s in shards if (m := re.search(r"-of-(\d+)$", s))}
        for total in totals:
            missing = [i for i in range(total) if not (variables / f"variables.data-{i:05d}-of-{total:05d}").is_file()]
            if missing:
                raise _bad(path, f"variables shard {missing[0]} of {total} is missing")


# --- .tflite -----------------------------------------------------------------------------------

