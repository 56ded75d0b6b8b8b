"""Device-QA fixture format: the on-disk layout of golden inputs, reference outputs and tolerances in a bundle.

Layout (the contract Swift / Kotlin test apps read; docs/device-qa.md):

    fixtures/index.json                          what is below, tolerances per artifact, how to feed inputs
    fixtures/case-000/inputs/<input>.bin         raw float32, little-endian, row-major, shape with batch 1
    fixtures/case-000/expected/<output>.bin      the TensorFlow reference output for that case
    ...

A device writes its outputs as `<case>/<output>.bin` in the same encoding (mobilekit.qa.ingest).
Image inputs are stored already normalized (as TFLite takes them) and quantized so that the Core ML
pixels `round((value - bias) / scale)` reproduce them exactly."""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.core.fsio import sha256_bytes
from mobilekit.qa.reference import end_to_end_artifacts, task_metric_name

FORMAT = "mobilekit-device-fixtures"
FORMAT_VERSION = 1
FIXTURES_DIR = "fixtures"
INDEX_NAME = "index.json"
INDEX_PATH = f"{FIXTURES_DIR}/{INDEX_NAME}"
DTYPE = "float32"
BYTE_ORDER = "little"
WIRE_DTYPE = np.dtype("<f4")  # what every .bin holds
ROLE_DIRS = {"input": "inputs", "expected": "expected"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def case_id(index: int) -> str:
    return f"case-{index:03d}"


def tensor_file(case: str, role: str, name: str) -> str:
    """Path of a tensor file relative to `fixtures/` (and, for outputs, the device's layout minus the role dir)."""
    return f"{case}/{ROLE_DIRS[role]}/{name}.bin"


def device_output_file(case: str, name: str) -> str:
    """Where a device writes its output for a case, relative to the outputs directory."""
    return f"{case}/{name}.bin"


def encode(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=WIRE_DTYPE).tobytes(order="C")


def decode(data: bytes, shape: Sequence[int]) -> np.ndarray:
    return np.frombuffer(data, dtype=WIRE_DTYPE).reshape(tuple(shape)).astype(np.float32)


def expected_bytes(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64)) * WIRE_DTYPE.itemsize


def _check_name(name: str) -> str:
    if not _SAFE_NAME.match(name):
        raise InputError(f"tensor name {name!r} cannot be used as a fixture file name (letters, digits, _ . - only)")
    return name


# --- what the index says about each input ---------------------------------------------------------

def _feed(entry: Mapping[str, Any]) -> dict[str, Any]:
    """How a runtime is given this input from the stored float values."""
    if entry.get("kind") == "image":
        norm = entry.get("normalization", {})
        return {
            "tflite": "float32 tensor: the stored values as they are (already normalized)",
            "coreml": {
                "as": "image",
                "pixel": "round((value - bias) / scale), exact for these fixtures",
                "pixel_range": [0, 255],
                "scale": float(norm.get("scale", 1.0)),
                "bias": float(norm.get("bias", 0.0)),
                "color_layout": entry.get("color_layout") or "RGB",
                "note": "pass a CVPixelBuffer of 8-bit pixels (e.g. 32BGRA); the model applies scale and bias itself",
            },
        }
    return {"tflite": "float32 tensor: the stored values as they are", "coreml": {"as": "multiarray", "dtype": "float32"}}


def quantize_image_inputs(inputs: Mapping[str, np.ndarray], manifest_inputs: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Snap image inputs to the values 8-bit pixels produce under the input's scale/bias, so feeding
    Core ML `round((value - bias) / scale)` as pixels reproduces the golden input exactly.
    Values already on that grid are returned unchanged (bit for bit)."""
    out = dict(inputs)
    for entry in manifest_inputs:
        if entry.get("kind") != "image" or entry["name"] not in out:
            continue
        norm = entry.get("normalization", {})
        scale, bias = float(norm.get("scale", 1.0)), float(norm.get("bias", 0.0))
        pixels = np.clip(np.rint((out[entry["name"]].astype(np.float64) - bias) / scale), 0, 255)
        out[entry["name"]] = (pixels * scale + bias).astype(np.float32)
    return out


def tolerances_from_manifest(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per end-to-end artifact path: target, precision and the tolerance its build-time parity gate used."""
    table = {}
    wanted = set(end_to_end_artifacts(manifest))
    main_gates = {p: e for p, e in manifest.get("parity", {}).items() if p in wanted or (p.endswith("#main") and p[:-5] in wanted)}
    for path, entry in sorted((p.removesuffix("#main"), e) for p, e in main_gates.items()):
        table[path] = {"target": entry.get("target"), "precision": entry.get("precision"), "tolerance": dict(entry.get("tolerance", {}))}
    return table


# --- writing ----------------------------------------------------------------------------------------

def write_fixture_tree(root: Path, manifest: Mapping[str, Any], inputs: Mapping[str, np.ndarray],
                       expected: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Write `root/fixtures/` (replacing any previous one) from per-case-stacked arrays; return the index."""
    base = root / FIXTURES_DIR
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    specs = [("input", e) for e in manifest["inputs"]] + [("expected", e) for e in manifest["outputs"]]
    arrays = {"input": inputs, "expected": expected}
    count = {len(a) for role in arrays.values() for a in role.values()}
    if len(count) != 1:
        raise InputError(f"fixture arrays disagree on the number of cases: {sorted(count)}")
    cases = []
    for i in range(count.pop()):
        case = case_id(i)
        tensors = []
        for role, entry in specs:
            name = _check_name(entry["name"])
            if name not in arrays[role]:
                raise InputError(f"no {role} array for {name!r}")
            data = encode(arrays[role][name][i : i + 1])
            rel = tensor_file(case, role, name)
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_bytes(data)
            tensors.append({"name": name, "role": role, "dtype": DTYPE, "byte_order": BYTE_ORDER,
                            "shape": [1, *arrays[role][name].shape[1:]], "file": rel, "bytes": len(data), "sha256": sha256_bytes(data)})
        cases.append({"id": case, "tensors": tensors})
    index = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bundle": {k: manifest[k] for k in ("name", "version", "platform", "family", "preset", "config_sha256")},
        "dtype": DTYPE,
        "byte_order": BYTE_ORDER,
        "layout": "row-major (C order), shape as listed including the batch dimension of 1",
        "reference": "tensorflow",
        "inputs": [{"name": e["name"], "shape": list(e["shape"]), "kind": e.get("kind", "tensor"),
                    "normalization": e.get("normalization", {}), "feed": _feed(e)} for e in manifest["inputs"]],
        "outputs": [{"name": e["name"], "shape": list(e["shape"])} for e in manifest["outputs"]],
        "tolerances": tolerances_from_manifest(manifest),
        "task_metric": task_metric_name(manifest["family"]),
        "device_outputs": {"file": "<case>/<output>.bin", "dtype": DTYPE, "byte_order": BYTE_ORDER,
                           "metadata": "device.json (optional): device, os, runtime, artifact, compute_units"},
        "cases": cases,
    }
    (base / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return index


# --- reading -----------------------------------------------------------------------------------------

@dataclass
class Goldens:
    """A bundle's fixtures, decoded: arrays stacked over cases (case order as in the index)."""

    bundle: Path
    index: dict[str, Any]
    manifest: dict[str, Any]
    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]

    @property
    def cases(self) -> list[str]:
        return [c["id"] for c in self.index["cases"]]

    @property
    def output_shapes(self) -> dict[str, list[int]]:
        return {t["name"]: t["shape"] for t in self.index["cases"][0]["tensors"] if t["role"] == "expected"}


def read_goldens(bundle: Path) -> Goldens:
    """Read and check (sha256, size) a bundle's fixtures; InputError naming the member on any problem."""
    from mobilekit.bundle.reader import open_bundle

    if not bundle.is_file():
        raise InputError(f"{bundle}: bundle not found")
    with open_bundle(bundle) as opened:  # structurally checked; entries verified (size, CRC) as read
        manifest, zf = opened.manifest, opened.zip
        if INDEX_PATH not in zf:
            raise InputError(f"{bundle}: no {INDEX_PATH}; add fixtures with `mobilekit qa fixtures --bundle {bundle}`")
        try:
            index = json.loads(zf.read(INDEX_PATH))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{bundle}:{INDEX_PATH}: not valid JSON ({exc})") from exc
        if index.get("format") != FORMAT or index.get("format_version") != FORMAT_VERSION:
            raise InputError(f"{bundle}:{INDEX_PATH}: not {FORMAT} version {FORMAT_VERSION}")
        if not index.get("cases"):
            raise InputError(f"{bundle}:{INDEX_PATH}: no cases")
        stacks: dict[str, dict[str, list[np.ndarray]]] = {"input": {}, "expected": {}}
        for case in index["cases"]:
            for tensor in case["tensors"]:
                member = f"{FIXTURES_DIR}/{tensor['file']}"
                if member not in zf:
                    raise InputError(f"{bundle}:{member}: listed in {INDEX_PATH} but missing")
                data = zf.read(member)
                if len(data) != expected_bytes(tensor["shape"]) or sha256_bytes(data) != tensor["sha256"]:
                    raise InputError(f"{bundle}:{member}: size or sha256 does not match {INDEX_PATH} (corrupt fixture)")
                stacks[tensor["role"]].setdefault(tensor["name"], []).append(decode(data, tensor["shape"]))
    joined = {role: {n: np.concatenate(a) for n, a in named.items()} for role, named in stacks.items()}
    return Goldens(bundle, index, manifest, joined["input"], joined["expected"])
