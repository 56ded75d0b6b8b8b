"""File-level validation of converted artifacts (`.tflite`, `.mlpackage`, `.onnx`) and the helpers
`mobilekit.nn.model_files` shares: see that module's docstring for what is checked and why."""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from mobilekit.core.errors import InputError

TFLITE_IDENTIFIER = b"TFL3"
MAX_TENSOR_BYTES = 4 << 30  # one TFLite tensor; more is a corrupt shape, not a mobile model
MLPACKAGE_MODEL_DIR = "Data"
BLOB_SENTINEL = 0xDEADBEEF  # Core ML weight.bin: each blob's metadata starts with it
BLOB_METADATA_BYTES = 64


def _reason(exc: BaseException) -> str:
    """One line: the exception type and the first line of its message, shortened."""
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _bad(path: Path, what: str) -> InputError:
    return InputError(f"{path}: {' '.join(what.split())}")



def _unsafe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or "\x00" in name
            or any(part == ".." for part in parts))


# --- artifacts ---------------------------------------------------------------------------------

_TFLITE_ITEMSIZE = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16, 12: 8, 15: 4, 16: 2, 18: 2,
                    21: 1, 22: 1}  # TensorType -> bytes per element (fixed-size types only)


def _validate_tflite(path: Path, head: bytes) -> None:
    data = path.read_bytes()
    if len(data) < 16 or data[4:8] != TFLITE_IDENTIFIER:
        raise _bad(path, f"not a TFLite model (no {TFLITE_IDENTIFIER.decode()} flatbuffer identifier at bytes 4..8)")
    root = struct.unpack_from("<I", data, 0)[0]
    if not 8 <= root < len(data) - 4:
        raise _bad(path, f"corrupt TFLite flatbuffer (root table offset {root} outside the {len(data)}-byte file)")
    if problem := _tflite_structure(data):
        raise _bad(path, f"corrupt TFLite model: {problem}")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # LiteRT not installed: the structural checks above are what we have
        return
    try:  # LiteRT runs its flatbuffer verifier on the buffer before building anything
        Interpreter(model_content=data)
    except Exception as exc:  # noqa: BLE001 - the wrapper raises ValueError/RuntimeError
        message = str(exc)
        if re.search(r"custom op|Flex|Select TensorFlow", message, re.IGNORECASE):
            return  # an op this LiteRT build does not resolve: the file is fine, the runner reports it
        raise _bad(path, f"LiteRT cannot load it ({_reason(exc)})") from None


def _tflite_structure(data: bytes) -> str | None:
    """Unpack every table (pure Python: out-of-range offsets raise, nothing native runs) and check
    the indices that tie them together."""
    from ai_edge_litert import schema_py_generated as schema

    try:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
    except Exception as exc:  # noqa: BLE001 - struct.error, IndexError, UnicodeDecodeError, ...
        return f"unreadable flatbuffer tables ({_reason(exc)})"
    if model.version != 3:
        return f"schema version {model.version} (expected 3)"
    subgraphs, buffers, codes = model.subgraphs or [], model.buffers or [], model.operatorCodes or []
    if not subgraphs:
        return "no subgraph"
    for b, buffer in enumerate(buffers):
        if buffer.offset > 1 and buffer.offset + buffer.size > len(data):
            return f"buffer {b} (offset {buffer.offset}, {buffer.size} bytes) lies past the end of the file (truncated)"
    for g, graph in enumerate(subgraphs):
        tensors = graph.tensors or []
        for t, tensor in enumerate(tensors):
            where = f"subgraph {g} tensor {t}"
            if not 0 <= tensor.buffer < max(len(buffers), 1):
                return f"{where} refers to buffer {tensor.buffer} of {len(buffers)}"
            shape = [int(d) for d in (tensor.shape if tensor.shape is not None else [])]
            if any(d < 0 for d in shape):
                return f"{where} has a negative dimension {shape}"
            count = 1
            for d in shape:
                count *= d
            itemsize = _TFLITE_ITEMSIZE.get(tensor.type)
            if itemsize is not None and count * itemsize > MAX_TENSOR_BYTES:
                return f"{where} has an implausible shape {shape} ({count * itemsize} bytes)"
            buffer = buffers[tensor.buffer] if buffers else None
            stored = (len(buffer.data) if buffer is not None and buffer.data is not None else
                      (buffer.size if buffer is not None and buffer.offset > 1 else 0))
            if stored and itemsize is not None and tensor.sparsity is None and stored != count * itemsize:
                return f"{where} of shape {shape} needs {count * itemsize} bytes, its buffer holds {stored}"
        for kind, indices in (("input", graph.inputs), ("output", graph.outputs)):
            for i in (indices if indices is not None else []):
                if not 0 <= int(i) < len(tensors):
                    return f"subgraph {g} {kind} refers to tensor {int(i)} of {len(tensors)}"
        for o, op in enumerate(graph.operators or []):
            if not 0 <= op.opcodeIndex < len(codes):
                return f"subgraph {g} operator {o} refers to operator code {op.opcodeIndex} of {len(codes)}"
            for i in [*(op.inputs if op.inputs is not None else []), *(op.outputs if op.outputs is not None else [])]:
                if not -1 <= int(i) < len(tensors):
                    return f"subgraph {g} operator {o} refers to tensor {int(i)} of {len(tensors)}"
    for signature in model.signatureDefs or []:
        if not 0 <= signature.subgraphIndex < len(subgraphs):
            return f"signature refers to subgraph {signature.subgraphIndex} of {len(subgraphs)}"
        count = len(subgraphs[signature.subgraphIndex].tensors or [])
        for entry in [*(signature.inputs or []), *(signature.outputs or [])]:
            if not 0 <= entry.tensorIndex < count:
                return f"signature tensor refers to tensor {entry.tensorIndex} of {count}"
    return None


# --- .mlpackage --------------------------------------------------------------------------------

def _validate_mlpackage(path: Path) -> None:
    manifest_path = path / "Manifest.json"
    if not manifest_path.is_file():
        raise _bad(path, "not a Core ML package (no Manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, OSError) as exc:
        raise _bad(path, f"Manifest.json is not valid JSON ({_reason(exc)})") from None
    entries = manifest.get("itemInfoEntries") if isinstance(manifest, dict) else None
    root_id = manifest.get("rootModelIdentifier") if isinstance(manifest, dict) else None
    if not isinstance(entries, dict) or not isinstance(root_id, str) or not isinstance(entries.get(root_id), dict):
        raise _bad(path, "Manifest.json names no root model item (rootModelIdentifier / itemInfoEntries)")
    relative = entries[root_id].get("path")
    if not isinstance(relative, str) or not relative or _unsafe_member(relative):
        raise _bad(path, f"Manifest.json gives the root model an invalid path {relative!r}")
    spec_path = path / MLPACKAGE_MODEL_DIR / relative
    if not spec_path.is_file():
        raise _bad(path, f"the root model {MLPACKAGE_MODEL_DIR}/{relative} named by Manifest.json is missing")
    spec = _parse_coreml_spec(path, spec_path)
    by_file: dict[str, list[int]] = {}
    for name, offset in _blob_references(spec):
        by_file.setdefault(name, []).append(offset)
    for name, offsets in sorted(by_file.items()):
        relative_blob = name[len("@model_path/"):] if name.startswith("@model_path/") else None
        if relative_blob is None or _unsafe_member(relative_blob):
            raise _bad(path, f"the spec references weights outside the package ({name})")
        blob = spec_path.parent / relative_blob
        if not blob.is_file():
            raise _bad(path, f"the weight file {name} the spec references is missing")
        if problem := _blob_problem(blob, sorted(set(offsets))):
            raise _bad(path, f"{blob.relative_to(path)}: {problem}")


def _parse_coreml_spec(path: Path, spec_path: Path):
    from google.protobuf.message import DecodeError

    from mobilekit.core.native import import_coremltools

    import_coremltools()
    from coremltools.proto import Model_pb2

    data = spec_path.read_bytes()
    if not data:
        raise _bad(path, f"{spec_path.relative_to(path)} is empty (0 bytes)")
    spec = Model_pb2.Model()
    try:
        spec.ParseFromString(data)
    except (DecodeError, Exception) as exc:  # noqa: BLE001 - the pure-Python protobuf raises more than DecodeError
        raise _bad(path, f"{spec_path.relative_to(path)} is not a Core ML model spec ({_reason(exc)})") from None
    if spec.specificationVersion <= 0 or spec.WhichOneof("Type") is None:
        raise _bad(path, f"{spec_path.relative_to(path)} is not a Core ML model spec (no version or model type)")
    return spec


def _blob_references(message) -> list[tuple[str, int]]:
    """(file name, offset) of every `BlobFileValue` in the spec (ML program weights)."""
    found: list[tuple[str, int]] = []
    stack = [message]
    while stack:
        current = stack.pop()
        if current.DESCRIPTOR.full_name.endswith("MILSpec.Value.BlobFileValue"):
            found.append((current.fileName, int(current.offset)))
            continue
        for field, value in current.ListFields():
            if field.type != field.TYPE_MESSAGE:
                continue
            if field.message_type.GetOptions().map_entry:
                values = value.values()
                if field.message_type.fields_by_name["value"].type != field.TYPE_MESSAGE:
                    continue
            elif field.label == field.LABEL_REPEATED:
                values = value
            else:
                values = [value]
            stack.extend(values)
    return found


def _blob_problem(blob: Path, offsets: list[int]) -> str | None:
    """Each blob's 64-byte metadata (sentinel, data type, size, data offset) and its data inside the file."""
    size = blob.stat().st_size
    with blob.open("rb") as handle:
        for offset in offsets:
            if offset + BLOB_METADATA_BYTES > size:
                return f"weight blob at offset {offset} lies past the end of the {size}-byte file (truncated)"
            handle.seek(offset)
            sentinel, _dtype, nbytes, data_offset = struct.unpack("<IIQQ", handle.read(24))
            if sentinel != BLOB_SENTINEL:
                return f"no weight blob at offset {offset} (corrupt weight file)"
            if data_offset + nbytes > size:
                return (f"weight blob at offset {offset} ({nbytes} bytes at {data_offset}) lies past the end of the "
                        f"{size}-byte file (truncated)")
    return None


# --- .onnx -------------------------------------------------------------------------------------

def _validate_onnx(path: Path, head: bytes) -> None:
    import onnx

    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - DecodeError, ValueError, onnx's own errors
        raise _bad(path, f"not an ONNX model ({_reason(exc)})") from None
    if not model.HasField("graph") or not model.opset_import:
        raise _bad(path, "not an ONNX model (no graph or opset)")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx raises ValidationError and friends
        raise _bad(path, f"invalid ONNX model ({_reason(exc)})") from None
