"""End to end for ops Core ML / TFLite cannot convert: a small model with erosion, bicubic and area
resizes bundled for both platforms through the library path `build` uses (`build_model_bundle`),
the coverage CLI, and the all-at-once failure for ops nobody handles."""
from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import last_json, run_cli
from mobilekit.pipeline.build import build_model_bundle
from mobilekit.core.config import BundleMeta
from mobilekit.core.errors import UnsupportedOpsError
from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.keras_io import io_from_keras
from mobilekit.nn.layers import Erosion2D, ResizeArea, ResizeBicubic
from mobilekit.convert.context import ModelContext

tf, keras = tf_and_keras()
META = BundleMeta(name="mask-tools", version="0.1.0", author="mobilekit tests", license="Apache-2.0")


def _mask_model(kernel_route: bool):
    """Mask erosion + 2x bicubic up + 2x area down (all exact decompositions); with `kernel_route`
    also a 16 -> 24 bicubic and 24 -> 16 area resize (no exact cheap decomposition)."""
    x = keras.Input((16, 16, 1), name="mask")
    y = Erosion2D(3, name="shrink")(x)
    y = ResizeBicubic((32, 32), name="up2")(y)
    y = ResizeArea((16, 16), name="down2")(y)
    if kernel_route:
        y = ResizeBicubic((24, 24), name="up_odd")(y)
        y = ResizeArea((16, 16), name="down_odd")(y)
    keras.utils.set_random_seed(0)
    y = keras.layers.Conv2D(1, 3, padding="same", name="head")(y)
    return keras.Model(x, y, name="masknet")


def _manifest(bundle: Path) -> tuple[dict, list[str]]:
    with zipfile.ZipFile(bundle) as zf:
        return json.loads(zf.read("manifest.json")), zf.namelist()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    model = _mask_model(kernel_route=True)
    ctx = ModelContext(model, io_from_keras(model), Path("masknet.keras"))
    out = tmp_path_factory.mktemp("dist")
    result = build_model_bundle(ctx, "all", out, meta=META)
    return result, out, ctx


def test_ios_bundle_carries_the_kernels_its_custom_layers_need(bundles):
    result, out, _ = bundles
    manifest, names = _manifest(out / "mask-tools-0.1.0-ios.zip")
    (artifact,) = manifest["artifacts"]
    assert artifact["details"]["format"] == "neuralnetwork"
    routes = {(r["op"], r["status"], r.get("rule") or r.get("class_name")) for r in artifact["details"]["op_routes"]}
    assert {("Dilation2D", "decomposed", "flat-element-as-maxpool"),
            ("ResizeBicubic", "decomposed", "integer-upscale-as-transposed-conv"),
            ("ResizeArea", "decomposed", "integer-downscale-as-avgpool"),
            ("ResizeBicubic", "custom_kernel", "custom-layer-MKResizeBicubic"),
            ("ResizeArea", "custom_kernel", "custom-layer-MKResizeArea")} == routes
    kernels = {k["class_name"]: k for k in manifest["custom_kernels"]}
    assert sorted(kernels) == ["MKResizeArea", "MKResizeBicubic"]
    assert kernels["MKResizeBicubic"]["nodes"] == ["masknet/up_odd/resize/ResizeBicubic"]
    for entry in kernels.values():
        assert entry["route"] == "coreml_custom_layer"
        assert set(entry["files"]) <= set(names) and set(entry["files"]) <= set(manifest["files"])
        assert any(f.endswith(".metal") for f in entry["files"]) and any(f.endswith("CoreMLLayers.swift") for f in entry["files"])
    with zipfile.ZipFile(out / "mask-tools-0.1.0-ios.zip") as zf:
        swift = zf.read("kernels/Sources/MobilekitShaders/CoreMLLayers.swift").decode()
    assert "@objc(MKResizeBicubic)" in swift and "@objc(MKResizeArea)" in swift
    repo_copy = Path(__file__).resolve().parents[2] / "swift_shaders/Sources/MobilekitShaders/CoreMLLayers.swift"
    assert swift == repo_copy.read_text()  # copied verbatim: what the Swift tests check
    (parity,) = manifest["parity"].values()
    assert parity["status"] == "passed" and parity["runner"].startswith("mil-executor:pre-backend")
    assert parity["outputs"][0]["max_abs"] <= 1e-5 and "MKResizeArea" in parity["checks"][0]


def test_android_bundle_states_the_route_of_each_op(bundles):
    _, out, _ = bundles
    manifest, names = _manifest(out / "mask-tools-0.1.0-android.zip")
    (artifact,) = manifest["artifacts"]
    assert artifact["details"]["ops"] == ["TFLITE_BUILTINS", "SELECT_TF_OPS"]
    routes = {(r["op"], r["status"], r["rule"]) for r in artifact["details"]["op_routes"]}
    assert ("ResizeBicubic", "select_tf_ops", "select-tf-op-ResizeBicubic") in routes
    assert ("ResizeArea", "decomposed", "any-size-as-matrices") in routes  # ResizeArea has no Flex kernel
    assert ("Dilation2D", "decomposed", "flat-element-as-maxpool") in routes
    (flex,) = manifest["custom_kernels"]
    assert flex["route"] == "select_tf_ops" and flex["flex_op"] == "FlexResizeBicubic" and "MB" in flex["binary_size"]
    assert not any(n.startswith("kernels/") for n in names)
    (parity,) = manifest["parity"].values()
    assert parity["status"] == "passed" and parity["runner"] == "litert" and parity["outputs"][0]["max_abs"] <= 1e-5


def test_ios_bundle_is_reproducible(bundles, tmp_path):
    _, out, ctx = bundles
    again = build_model_bundle(ctx, "ios", tmp_path, meta=META)
    assert again.bundles[0].read_bytes() == (out / "mask-tools-0.1.0-ios.zip").read_bytes()


def test_exact_decompositions_keep_core_ml_an_ml_program(tmp_path):
    model = _mask_model(kernel_route=False)
    result = build_model_bundle(ModelContext(model, io_from_keras(model), Path("m.keras")), "ios", tmp_path, meta=META)
    manifest, names = _manifest(result.bundles[0])
    assert manifest["artifacts"][0]["details"]["format"] == "mlprogram" and manifest["custom_kernels"] == []
    assert not any(n.startswith("kernels/") for n in names)
    (parity,) = manifest["parity"].values()
    assert parity["status"] == "passed" and parity["runner"] in ("mil-executor", "coreml-macos")


@pytest.mark.skipif(shutil.which("swift") is None, reason="swift is not on PATH: the emitted package was not compiled")
def test_emitted_kernels_compile_as_a_swift_package(bundles, tmp_path):
    _, out, _ = bundles
    with zipfile.ZipFile(out / "mask-tools-0.1.0-ios.zip") as zf:
        zf.extractall(tmp_path)
    proc = subprocess.run(["swift", "build", "--package-path", str(tmp_path / "kernels")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_coverage_cli_loads_mobilekit_layers_safely_and_reports_routes(tmp_path):
    path = tmp_path / "masknet.keras"
    _mask_model(kernel_route=True).save(path)
    proc = run_cli("coverage", "--model", str(path), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = last_json(proc.stdout)
    assert report["supported"] is True
    coreml = {(r["op"], r["status"]) for r in report["targets"]["coreml"]["ops"]}
    tflite = {(r["op"], r["status"]) for r in report["targets"]["tflite"]["ops"]}
    assert {("Dilation2D", "decomposed"), ("ResizeBicubic", "custom_kernel"), ("ResizeArea", "custom_kernel"), ("Conv2D", "native")} <= coreml
    assert {("ResizeBicubic", "select_tf_ops"), ("ResizeArea", "decomposed")} <= tflite


def test_unhandled_ops_fail_before_anything_is_written(tmp_path):
    x = keras.Input((8, 8, 1), name="x")
    y = tf.tensor_scatter_nd_update(x, [[0, 0, 0, 0]], [1.0])  # no handler anywhere for Core ML
    y = tf.image.resize(y, (6, 6), method="area")  # raw ResizeArea: TFLite has neither a builtin nor a Flex kernel
    model = keras.Model(x, y, name="bad")
    path = tmp_path / "bad.keras"
    model.save(path)

    converted = run_cli("convert", "coreml", "--model", str(path), "--out", str(tmp_path / "conv"), "--json")
    assert converted.returncode == 1, converted.stderr[-2000:]
    assert "TensorScatterUpdate" in last_json(converted.stdout)["error"]
    assert not (tmp_path / "conv").exists() or not any((tmp_path / "conv").iterdir())

    covered = run_cli("coverage", "--model", str(path), "--json")
    assert covered.returncode == 1
    report = last_json(covered.stdout)
    assert [r["op"] for r in report["targets"]["coreml"]["unsupported"]] == ["TensorScatterUpdate"]
    assert [r["op"] for r in report["targets"]["tflite"]["unsupported"]] == ["ResizeArea"]

    with pytest.raises(UnsupportedOpsError) as caught:
        build_model_bundle(ModelContext(model, io_from_keras(model), path), "all", tmp_path / "dist")
    assert caught.value.exit_code == 1
    assert "coreml: TensorScatterUpdate at bad/tf.tensor_scatter_nd_update" in str(caught.value)
    assert "tflite: ResizeArea" in str(caught.value)
    assert not (tmp_path / "dist").exists()
