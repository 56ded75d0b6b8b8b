"""Device-QA fixtures: golden inputs, TensorFlow reference outputs and tolerances inside a bundle.

Layout (the contract Swift / Kotlin test apps read; docs/device-qa.md):

    fixtures/index.json                          what is below, tolerances per artifact, how to feed inputs
    fixtures/case-000/inputs/<input>.bin         raw float32, little-endian, row-major, shape with batch 1
    fixtures/case-000/expected/<output>.bin      the TensorFlow reference output for that case
    ...

A device writes its outputs as `<case>/<output>.bin` in the same encoding (mobilekit.parity.ingest).
Image inputs are stored already normalized (as TFLite takes them) and quantized so that the Core ML
pixels `round((value - bias) / scale)` reproduce them exactly."""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from mobilekit.core.errors import GateFailed, InputError
from mobilekit.core.fsio import sha256_bytes

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
    """Per artifact path: target, precision and the tolerance its build-time parity gate used."""
    table = {}
    for path, entry in sorted(manifest.get("parity", {}).items()):
        table[path] = {"target": entry.get("target"), "precision": entry.get("precision"), "tolerance": dict(entry.get("tolerance", {}))}
    return table


def family_or_none(name: str):
    """The registered model family, or None (models bundled without a family have no task metric)."""
    from mobilekit.models import get_family

    try:
        return get_family(name)
    except KeyError:
        return None


def _task_metric_name(family: str) -> str | None:
    found = family_or_none(family)
    return found.task_metric_name if found else None


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
        "task_metric": _task_metric_name(manifest["family"]),
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
    from mobilekit.bundle.reader import read_manifest

    if not bundle.is_file():
        raise InputError(f"{bundle}: bundle not found")
    manifest = read_manifest(bundle)
    with zipfile.ZipFile(bundle) as zf:
        try:
            index = json.loads(zf.read(INDEX_PATH))
        except KeyError:
            raise InputError(f"{bundle}: no {INDEX_PATH}; add fixtures with `mobilekit qa fixtures --bundle {bundle}`") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{bundle}:{INDEX_PATH}: not valid JSON ({exc})") from exc
        if index.get("format") != FORMAT or index.get("format_version") != FORMAT_VERSION:
            raise InputError(f"{bundle}:{INDEX_PATH}: not {FORMAT} version {FORMAT_VERSION}")
        if not index.get("cases"):
            raise InputError(f"{bundle}:{INDEX_PATH}: no cases")
        stacks: dict[str, dict[str, list[np.ndarray]]] = {"input": {}, "expected": {}}
        for case in index["cases"]:
            for tensor in case["tensors"]:
                member = f"{FIXTURES_DIR}/{tensor['file']}"
                try:
                    data = zf.read(member)
                except KeyError:
                    raise InputError(f"{bundle}:{member}: listed in {INDEX_PATH} but missing") from None
                if len(data) != expected_bytes(tensor["shape"]) or sha256_bytes(data) != tensor["sha256"]:
                    raise InputError(f"{bundle}:{member}: size or sha256 does not match {INDEX_PATH} (corrupt fixture)")
                stacks[tensor["role"]].setdefault(tensor["name"], []).append(decode(data, tensor["shape"]))
    joined = {role: {n: np.concatenate(a) for n, a in named.items()} for role, named in stacks.items()}
    return Goldens(bundle, index, manifest, joined["input"], joined["expected"])


# --- the reference model and the bundle rewrite ---------------------------------------------------

def _io_matches(ctx, manifest: Mapping[str, Any]) -> list[str]:
    problems = []
    for side, infos in (("inputs", ctx.io.inputs), ("outputs", ctx.io.outputs)):
        want = [(e["name"], list(e["shape"])) for e in manifest[side]]
        have = [(t.name, list(t.shape)) for t in infos]
        if want != have:
            problems.append(f"{side}: bundle {want} vs reference {have}")
    return problems


def reference_context(manifest: Mapping[str, Any], *, config_path: Path | None = None, reference: Path | None = None,
                      trust: bool = False, work: Path, reporter=None):
    """The TensorFlow reference that built the bundle: `reference` (a trained model), else the model
    trained from `config_path` (the training cache makes this fast). Refuses (InputError) a config or
    model whose hash differs from the bundle's `config_sha256`, or whose I/O differs from the manifest's."""
    import hashlib

    from mobilekit.stages import load_context

    expected = manifest["config_sha256"]
    if reference is not None and config_path is not None:
        raise InputError("pass either --reference or --config, not both")
    if reference is not None:
        if not reference.exists():
            raise InputError(f"{reference}: reference model not found")
        ctx = load_context(reference, trust=trust)
        actual = ctx.config.sha256() if ctx.config else hashlib.sha256(ctx.model.to_json().encode()).hexdigest()
        source = f"{reference} (config in its model.json)" if ctx.config else str(reference)
    else:
        from mobilekit.core.config import load_config
        from mobilekit.train.trainer import train

        config, resolved = load_config(config_path)
        actual, source = config.sha256(), str(resolved)
        if actual != expected:
            raise InputError(f"{source}: config sha256 {actual[:12]}… differs from the bundle's config_sha256 {expected[:12]}…; "
                             "this config did not build the bundle (pass the one that did, or --reference MODEL)")
        if reporter is not None:
            reporter.stage(f"training the reference from {resolved.name} (reused from the cache when unchanged)")
        trained = train(config, work / "train", progress=reporter.progress if reporter is not None else None)
        ctx = load_context(trained.model_path)
    if actual != expected:
        raise InputError(f"{source}: hash {actual[:12]}… differs from the bundle's config_sha256 {expected[:12]}…; "
                         "this model was not trained with the config that built the bundle")
    if problems := _io_matches(ctx, manifest):
        raise InputError(f"{source}: model I/O differs from the bundle's manifest: " + "; ".join(problems))
    return ctx


def _self_check(ctx, root: Path, manifest: Mapping[str, Any], inputs, expected, reporter) -> dict[str, dict[str, Any]]:
    """Run each bundled artifact on the golden inputs (its build-time gate runner) against the goldens:
    proves the goldens belong to this bundle. A failure raises GateFailed; a check that cannot run here is
    recorded as not run."""
    from mobilekit.convert.base import Artifact
    from mobilekit.parity.mil_custom_ops import verify_converted

    checks = {}
    for entry in manifest["artifacts"]:
        artifact = Artifact(entry["target"], root / entry["path"], entry["precision"], dict(entry.get("details", {})))
        result = verify_converted(ctx, artifact, dict(inputs), dict(expected))
        checks[entry["path"]] = {"status": result.status, "runner": result.runner, "note": result.note}
        if reporter is not None:
            reporter.stage(f"self-check {entry['path']}: {result.status} ({result.runner})")
        if result.status == "failed":
            raise GateFailed(f"{entry['path']} does not reproduce the reference outputs on the fixture inputs "
                             f"({'; '.join(c for c in result.checks if c.startswith('✗'))}); the reference is not the model "
                             "this bundle was built from, no fixtures written", {"self_check": checks})
    return checks


def add_fixtures(bundle: Path, *, config_path: Path | None = None, reference: Path | None = None, cases: int | None = None,
                 out: Path | None = None, trust: bool = False, self_check: bool = True, reporter=None) -> dict[str, Any]:
    """Write golden fixtures into `bundle` (or a copy at `out`): same files plus `fixtures/`, manifest
    `files` updated, deterministic bytes, atomic replace. Returns a summary for the CLI."""
    from mobilekit.bundle.reader import verify_bundle
    from mobilekit.bundle.writer import write_manifest, zip_tree
    from mobilekit.core.fsio import safe_extract_zip
    from mobilekit.stages import parity_inputs, reference_outputs

    checked = verify_bundle(bundle)
    if not checked.ok:
        raise InputError(f"{bundle}: the bundle fails verification, refusing to add fixtures: " + "; ".join(checked.problems[:5]))
    destination = out or bundle
    with tempfile.TemporaryDirectory(prefix="mobilekit-fixtures-") as tmp:
        work = Path(tmp)
        root = work / "bundle"
        safe_extract_zip(bundle, root)
        manifest = json.loads((root / "manifest.json").read_text())
        ctx = reference_context(manifest, config_path=config_path, reference=reference, trust=trust, work=work, reporter=reporter)
        count = cases or (ctx.config.data.parity_samples if ctx.config else 8)
        if reporter is not None:
            reporter.stage(f"making {count} golden case(s) and their TensorFlow reference outputs")
        inputs = quantize_image_inputs(parity_inputs(ctx, count), manifest["inputs"])
        expected = reference_outputs(ctx, inputs)
        from mobilekit.parity.metrics import finite

        if bad := [n for n, a in expected.items() if not finite(a)]:
            raise GateFailed(f"reference outputs {bad} contain NaN/Inf; no fixtures written")
        checks = _self_check(ctx, root, manifest, inputs, expected, reporter) if self_check else {}
        index = write_fixture_tree(root, manifest, inputs, expected)
        write_manifest(root, manifest)
        zip_tree(root, destination)
    return {"bundle": str(destination), "source": str(bundle), "cases": len(index["cases"]),
            "fixtures": [f"{FIXTURES_DIR}/{INDEX_NAME}"] + [f"{FIXTURES_DIR}/{t['file']}" for c in index["cases"] for t in c["tensors"]],
            "tolerances": index["tolerances"], "self_check": checks}
