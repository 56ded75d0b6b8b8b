"""End to end on the tiny config: bundles, metadata, Core ML package, parity records, determinism."""
from __future__ import annotations

import json
import zipfile

from conftest import TINY, last_json, run_cli


def _manifest(bundle):
    with zipfile.ZipFile(bundle) as zf:
        return json.loads(zf.read("manifest.json"))


def test_android_bundle_has_metadata_and_tflite_parity(tiny_build, tmp_path):
    result, out = tiny_build
    bundle = out / "object-select-tiny-0.1.0-android.zip"
    assert bundle in result.bundles
    manifest = _manifest(bundle)
    (entry,) = [v for k, v in manifest["parity"].items() if k.endswith(".tflite")]
    assert entry["status"] == "passed" and entry["runner"] == "litert"
    assert entry["outputs"][0]["max_abs"] <= 1e-4 and entry["precision"] == "fp32"
    assert entry["task_metrics"][0]["name"] == "mask_iou"
    with zipfile.ZipFile(bundle) as zf:
        zf.extract("models/object-select-tiny.tflite", tmp_path)
    from mobilekit.convert.metadata import read_tflite_metadata

    meta = read_tflite_metadata(tmp_path / "models" / "object-select-tiny.tflite")
    graph = meta["metadata"]["subgraph_metadata"][0]
    assert meta["metadata"]["name"] == "object-select-tiny" and meta["metadata"]["version"] == "0.1.0"
    assert {t["name"] for t in graph["input_tensor_metadata"]} == {"image", "clicks"}
    image = next(t for t in graph["input_tensor_metadata"] if t["name"] == "image")
    assert image["process_units"][0]["options"]["std"] == [255.0, 255.0, 255.0]
    assert meta["associated_files"] == ["labels.txt"]


def test_ios_bundle_holds_valid_mlpackage_and_says_how_coreml_was_checked(tiny_build, tmp_path):
    import coremltools as ct

    _, out = tiny_build
    bundle = out / "object-select-tiny-0.1.0-ios.zip"
    manifest = _manifest(bundle)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path)
    package = tmp_path / "models" / "object-select-tiny.mlpackage"
    spec = ct.models.MLModel(str(package), skip_model_load=True).get_spec()
    assert [i.name for i in spec.description.input] == ["image", "clicks"]
    assert [o.name for o in spec.description.output] == ["mask"]
    assert spec.description.input[0].type.WhichOneof("Type") == "imageType"
    assert spec.description.metadata.author == "mobilekit"
    (entry,) = manifest["parity"].values()
    # Linux: the MIL executor gates Core ML (real Core ML only runs on macOS, which the note says).
    assert entry["status"] == "passed" and entry["runner"] in ("coreml-macos", "mil-executor")
    assert entry["outputs"][0]["max_abs"] <= 1e-4
    if entry["runner"] == "mil-executor":  # an emulation of Core ML: listed, and parity is not complete
        assert "macOS" in entry["note"] and manifest["parity_complete"] is False
        assert manifest["parity_emulated"] == [{"artifact": "models/object-select-tiny.mlpackage", "runner": "mil-executor",
                                                "emulation": manifest["parity_emulated"][0]["emulation"]}]
    else:
        assert manifest["parity_complete"] is True and manifest["parity_emulated"] == []
    # the manifest describes each artifact's inputs as the artifact takes them: Core ML pixels 0-255
    (artifact,) = manifest["artifacts"]
    image = next(i for i in artifact["io"]["inputs"] if i["name"] == "image")
    assert image["as"] == "image" and image["pixel_range"] == [0, 255] and image["color_layout"] == "RGB"
    assert image["scale"] == manifest["inputs"][0]["normalization"]["scale"]
    assert manifest["artifacts"][0]["details"]["deployment_target"] == "iOS16"
    assert set(manifest["toolchain"]) >= {"python", "tensorflow", "coremltools", "tflite-support", "ai-edge-litert"}


def test_bundle_verify_passes_then_detects_tampering(tiny_build, tmp_path):
    _, out = tiny_build
    bundle = out / "object-select-tiny-0.1.0-android.zip"
    ok = run_cli("bundle", "verify", str(bundle), "--json")
    assert ok.returncode == 0 and last_json(ok.stdout)["ok"] is True
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data + b"!" if info.filename.endswith(".tflite") else data)
    bad = run_cli("bundle", "verify", str(tampered), "--json")
    assert bad.returncode == 1 and any("mismatch" in p for p in last_json(bad.stdout)["problems"])


def test_same_config_and_seed_give_identical_bytes_across_processes(tiny_build, tmp_path):
    """The session build trained in-process; this one trains again in a fresh process."""
    result, out = tiny_build
    proc = run_cli("build", "all", "--config", str(TINY), "--out", str(tmp_path), "--json", env={"MOBILEKIT_NO_CACHE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = last_json(proc.stdout)
    assert len(summary["bundles"]) == 2
    for first in result.bundles:
        assert (tmp_path / first.name).read_bytes() == first.read_bytes(), first.name


def test_train_convert_parity_commands_chain(tmp_path):
    trained = run_cli("train", "--config", str(TINY), "--out", str(tmp_path / "run"), "--json")
    assert trained.returncode == 0, trained.stderr[-2000:]
    model = last_json(trained.stdout)["model"]
    converted = run_cli("convert", "tflite", "--model", model, "--out", str(tmp_path / "conv"), "--json")
    assert converted.returncode == 0, converted.stderr[-2000:]
    (artifact,) = last_json(converted.stdout)["artifacts"]
    parity = run_cli("parity", "--reference", model, "--candidate", artifact, "--json")
    assert parity.returncode == 0, parity.stderr[-2000:]
    report = last_json(parity.stdout)
    assert report["passed"] is True and report["runner"] == "litert"
    assert report["outputs"][0]["name"] == "mask" and report["outputs"][0]["max_abs"] <= 1e-4
