"""File-level validation of model files (`mobilekit.nn.model_files.validate_model_file`): for every
kind (.keras, .h5, SavedModel, .tflite, .mlpackage, .onnx) a tiny real model is built and converted,
then truncated, zero-length, bit-flipped and random-bytes variants are each an `InputError` with one
line naming the file, never a traceback or a crash; and one `mobilekit parity ... --json` run per
kind exits 2 with the error as the last JSON line.

Bit flips are placed where a flip is detectable: a `.keras` member's bytes (every member has a
CRC), the HDF5 model config, a protobuf length (SavedModel, Core ML spec, ONNX), a TFLite tensor
shape, a Core ML weight blob's header. A flip inside raw weight bytes of HDF5 / TFLite / Core ML
blobs has no checksum to fail: it is a different, well-formed model, for the parity gate to catch."""
from __future__ import annotations

import os
import shutil
import struct
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import last_json, run_cli
from mobilekit.core.errors import InputError
from mobilekit.nn.loading import check_model_file, load_keras_model
from mobilekit.nn.model_files import validate_model_file

REPO = Path(__file__).resolve().parents[2]
# The single file each kind's variants corrupt (relative to the model path for directories).
CORRUPTED = {"keras": None, "h5": None, "savedmodel": "saved_model.pb", "tflite": None,
             "mlpackage": "Data/com.apple.CoreML/model.mlmodel", "onnx": None}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny tf_keras model saved as .keras, .h5 and a SavedModel, and converted to .tflite, .mlpackage, .onnx."""
    from mobilekit.convert.context import ModelContext
    from mobilekit.convert.request import convert_artifact
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.nn.keras_io import io_from_keras

    tf, keras = tf_and_keras()
    root = tmp_path_factory.mktemp("models")
    x = keras.Input((8, 8, 3), name="image")
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    model = keras.Model(x, keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(y))
    paths = {"keras": root / "tiny.keras", "h5": root / "tiny.h5", "savedmodel": root / "tiny_savedmodel"}
    model.save(paths["keras"])
    model.save(paths["h5"])
    tf.saved_model.save(model, str(paths["savedmodel"]))
    ctx = ModelContext(model, io_from_keras(model), paths["keras"])
    for target in ("tflite", "coreml", "onnx"):
        artifact = convert_artifact(ctx, target, root)
        paths["mlpackage" if target == "coreml" else target] = artifact.path
    return paths


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def flip_protobuf_length(data: bytes) -> bytes:
    """Flip one bit in the length of a top-level length-delimited field so that it claims more bytes
    than the message holds (bit 6 of the varint's last byte)."""
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        wire = tag & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            start = pos
            length, pos = _varint(data, pos)
            added = 64 << (7 * (pos - start - 1))
            if not data[pos - 1] & 0x40 and length + added > len(data) - pos:
                flipped = bytearray(data)
                flipped[pos - 1] ^= 0x40
                return bytes(flipped)
            pos += length
        else:
            break
    raise AssertionError("no length-delimited field to flip")


def flip_keras_member(path: Path) -> bytes:
    """Flip one bit in the middle of config.json's bytes inside the archive (its CRC no longer matches)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("config.json")
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0x01
    return bytes(data)


def flip_h5_config(path: Path) -> bytes:
    """Flip one bit of a quote in the HDF5 `model_config` attribute (the JSON no longer parses)."""
    data = bytearray(path.read_bytes())
    at = data.index(b'{"class_name"')
    data[at + 1] ^= 0x01
    return bytes(data)


def flip_tflite_shape(path: Path) -> bytes:
    """Flip one bit in the first dimension of a constant tensor's shape (its buffer no longer fits)."""
    from ai_edge_litert import schema_py_generated as schema

    data = path.read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    graph = model.Subgraphs(0)
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        if model.Buffers(tensor.Buffer()).DataLength() and tensor.ShapeLength():
            start = tensor._tab.Vector(tensor._tab.Offset(4))  # the shape vector's first element
            flipped = bytearray(data)
            flipped[start] ^= 0x10
            return bytes(flipped)
    raise AssertionError("no constant tensor")


def variants(kind: str, path: Path) -> dict[str, bytes]:
    """name -> the new bytes of the corrupted file (the model file, or CORRUPTED[kind] inside the directory)."""
    target = path / CORRUPTED[kind] if CORRUPTED[kind] else path
    data = target.read_bytes()
    rng = np.random.default_rng(sum(map(ord, kind)))
    flipped = {"keras": lambda: flip_keras_member(path), "h5": lambda: flip_h5_config(path),
               "tflite": lambda: flip_tflite_shape(path)}.get(kind, lambda: flip_protobuf_length(data))
    return {"truncated": data[: len(data) // 2], "zero-length": b"", "bit-flipped": flipped(),
            "random-bytes": rng.bytes(len(data))}


def corrupt_copy(kind: str, path: Path, variant: str, content: bytes, where: Path) -> Path:
    dst = where / f"{variant}-{path.name}"
    if path.is_dir():
        shutil.copytree(path, dst)
        (dst / CORRUPTED[kind]).write_bytes(content)
    else:
        dst.write_bytes(content)
    return dst


KINDS = list(CORRUPTED)
VARIANTS = ["truncated", "zero-length", "bit-flipped", "random-bytes"]


def test_valid_files_pass_with_their_kind(models):
    for kind in KINDS:
        assert validate_model_file(models[kind]) == kind
    assert check_model_file(models["keras"]) == "keras2" and check_model_file(models["savedmodel"]) == "savedmodel"


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_variants_are_one_line_input_errors(models, tmp_path, kind):
    for variant, content in variants(kind, models[kind]).items():
        broken = corrupt_copy(kind, models[kind], variant, content, tmp_path)
        with pytest.raises(InputError) as refused:
            validate_model_file(broken)
        message = str(refused.value)
        assert message.startswith(f"{broken}: ") and "\n" not in message and len(message) < 400, (variant, message)
        if kind in ("keras", "h5", "savedmodel"):  # references: the loader validates before deserializing
            with pytest.raises(InputError):
                load_keras_model(broken)


def test_mlpackage_weight_blob_and_manifest_damage(models, tmp_path):
    package = models["mlpackage"]
    weights = package / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    blob = weights.read_bytes()
    cases = {"blob-header-flip": ("Data/com.apple.CoreML/weights/weight.bin", blob[:64] + bytes([blob[64] ^ 0x01]) + blob[65:]),
             "weights-truncated": ("Data/com.apple.CoreML/weights/weight.bin", blob[: len(blob) // 2]),
             "manifest-garbage": ("Manifest.json", b"\x00\xffnot json"),
             "manifest-no-root": ("Manifest.json", b'{"fileFormatVersion": "1.0.0", "itemInfoEntries": {}}')}
    for name, (relative, content) in cases.items():
        dst = tmp_path / f"{name}.mlpackage"
        shutil.copytree(package, dst)
        (dst / relative).write_bytes(content)
        with pytest.raises(InputError, match=f"^{dst}: ") as refused:
            validate_model_file(dst)
        assert "\n" not in str(refused.value)
    shutil.copytree(package, tmp_path / "no-weights.mlpackage")
    shutil.rmtree(tmp_path / "no-weights.mlpackage" / "Data" / "com.apple.CoreML" / "weights")
    with pytest.raises(InputError, match="weight file @model_path/weights/weight.bin .* is missing"):
        validate_model_file(tmp_path / "no-weights.mlpackage")
    garbage = tmp_path / "garbage.mlpackage"
    garbage.mkdir()
    (garbage / "random.bin").write_bytes(np.random.default_rng(0).bytes(512))
    with pytest.raises(InputError, match="no Manifest.json"):
        validate_model_file(garbage)


def test_archive_structure_refusals(models, tmp_path):
    """Names escaping the archive, a missing or non-JSON config, an HDF5 external link, a wrong suffix."""
    import h5py

    def archive(name, members):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for member, content in members.items():
                zf.writestr(member, content)
        return path

    config = b'{"class_name": "Functional", "config": {}}'
    for name, members, expected in [
        ("traversal.keras", {"config.json": config, "../evil.py": b"x"}, "path traversal"),
        ("absolute.keras", {"config.json": config, "/etc/evil": b"x"}, "path traversal"),
        ("noconfig.keras", {"metadata.json": b"{}"}, "no config.json"),
        ("badjson.keras", {"config.json": b"{not json"}, "config.json is not valid JSON"),
        ("notobject.keras", {"config.json": b"[1, 2]"}, "config.json is not a JSON object"),
        ("badweights.keras", {"config.json": config, "model.weights.h5": b"garbage!"}, "is not an HDF5 file"),
    ]:
        with pytest.raises(InputError, match=expected):
            validate_model_file(archive(name, members))
    linked = tmp_path / "linked.h5"
    with h5py.File(linked, "w") as handle:
        handle.attrs["model_config"] = config.decode()
        handle["leak"] = h5py.ExternalLink("/etc/passwd", "/")
    with pytest.raises(InputError, match="external link /leak"):
        validate_model_file(linked)
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(InputError, match="unsupported model format"):
        validate_model_file(tmp_path / "model.pkl")
    with pytest.raises(InputError, match="model not found"):
        validate_model_file(tmp_path / "absent.tflite")
    with pytest.raises(InputError, match="unsupported model format for a reference model"):
        check_model_file(models["tflite"])


def _hooked(relative: str) -> bool:
    """Whether the lead has called validate_model_file in that file (the call sites this module cannot edit)."""
    return "validate_model_file" in (REPO / relative).read_text()


PARITY_HOOK = pytest.mark.xfail(not _hooked("mobilekit/cli/parity.py"), strict=False,
                                reason="needs `validate_model_file(candidate)` in mobilekit/cli/parity.py")
# (kind, variant, role): references go through nn.loading (validated here), candidates through cli/parity.py.
CLI_CASES = [("keras", "bit-flipped", "reference"), ("h5", "truncated", "reference"),
             ("savedmodel", "random-bytes", "reference"),
             pytest.param("tflite", "truncated", "candidate", marks=PARITY_HOOK),
             pytest.param("mlpackage", "random-bytes", "candidate", marks=PARITY_HOOK),
             pytest.param("onnx", "truncated", "candidate", marks=PARITY_HOOK)]


@pytest.fixture(scope="module")
def cli_runs(models, tmp_path_factory):
    """Every CLI case run once, two at a time (each is a fresh process importing TensorFlow)."""
    where = tmp_path_factory.mktemp("cli")
    runs = {}
    with ThreadPoolExecutor(max_workers=int(os.environ.get("MOBILEKIT_TEST_JOBS", "2"))) as pool:
        for case in CLI_CASES:
            kind, variant, role = case.values if hasattr(case, "values") else case
            broken = corrupt_copy(kind, models[kind], variant, variants(kind, models[kind])[variant], where)
            reference, candidate = (broken, models["tflite"]) if role == "reference" else (models["keras"], broken)
            runs[kind] = (broken, pool.submit(run_cli, "parity", "--reference", str(reference), "--candidate", str(candidate),
                                              "--samples", "1", "--json"))
    return {kind: (broken, future.result()) for kind, (broken, future) in runs.items()}


@pytest.mark.parametrize("kind, variant, role", CLI_CASES)
def test_parity_cli_exits_2_with_a_json_error(cli_runs, kind, variant, role):
    broken, result = cli_runs[kind]
    assert result.returncode == 2, (kind, result.stdout[-500:], result.stderr[-1500:])
    error = last_json(result.stdout)["error"]
    assert error.startswith(f"{broken}: ") and "\n" not in error, error
    assert "Traceback" not in result.stderr


@pytest.mark.xfail(not _hooked("mobilekit/pipeline/predict.py"), strict=False,
                   reason="needs `validate_model_file(model)` in mobilekit/pipeline/predict.py load_predictor")
def test_predict_cli_refuses_a_truncated_tflite(models, tmp_path):
    from PIL import Image

    broken = corrupt_copy("tflite", models["tflite"], "truncated", variants("tflite", models["tflite"])["truncated"], tmp_path)
    Image.new("RGB", (8, 8), (200, 30, 30)).save(tmp_path / "photo.png")
    result = run_cli("predict", "segmentation", "--model", str(broken), "--image", str(tmp_path / "photo.png"),
                     "--click", "4,4", "--out", str(tmp_path / "mask.png"), "--json")
    assert result.returncode == 2, result.stderr[-1500:]
    assert last_json(result.stdout)["error"].startswith(f"{broken}: ") and "Traceback" not in result.stderr
