"""Device-QA fixture layout and ingest on a synthetic bundle (no TensorFlow: fast)."""
from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from mobilekit.bundle.reader import verify_bundle
from mobilekit.bundle.writer import write_manifest, zip_tree
from mobilekit.core.errors import InputError
from mobilekit.qa.fixture_format import INDEX_PATH, quantize_image_inputs, read_goldens, write_fixture_tree
from mobilekit.qa.ingest import ingest, read_device_outputs
from tests.fake_manifest import IMAGE_NORM, fake_manifest

H = W = 8
CASES = 3


def _manifest() -> dict:
    return fake_manifest(H, W)


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    image = (rng.integers(0, 256, (CASES, H, W, 3)) * (1 / 255)).astype(np.float32)
    clicks = rng.random((CASES, H, W, 2), dtype=np.float32)
    mask = np.zeros((CASES, H, W, 1), np.float32)
    mask[:, 2:6, 2:6] = 0.9
    mask += rng.random(mask.shape, dtype=np.float32) * 0.05
    return {"image": image, "clicks": clicks}, {"mask": mask}


def _bundle(tmp_path, name="b.zip"):
    root = tmp_path / f"stage-{name}"
    (root / "models").mkdir(parents=True)
    (root / "models" / "fake.tflite").write_bytes(b"TFL3")
    manifest = _manifest()
    inputs, expected = _arrays()
    write_fixture_tree(root, manifest, quantize_image_inputs(inputs, manifest["inputs"]), expected)
    write_manifest(root, manifest)
    zip_tree(root, tmp_path / name)
    return tmp_path / name


def _device_dir(tmp_path, bundle, meta=None, perturb=None):
    goldens = read_goldens(bundle)
    out = tmp_path / "device"
    for i, case in enumerate(goldens.cases):
        (out / case).mkdir(parents=True, exist_ok=True)
        mask = goldens.expected["mask"][i : i + 1].copy()
        if perturb is not None and i == perturb:
            mask[..., 2:6, 2:6, :] = 0.1  # the object is lost in this case
        (out / case / "mask.bin").write_bytes(mask.astype("<f4").tobytes())
    if meta is not None:
        (out / "device.json").write_text(json.dumps(meta))
    return out


def test_layout_is_raw_little_endian_float32_listed_with_sha256(tmp_path):
    bundle = _bundle(tmp_path)
    assert verify_bundle(bundle).ok  # fixtures are listed in the manifest's files
    inputs, expected = _arrays()
    with zipfile.ZipFile(bundle) as zf:
        index = json.loads(zf.read(INDEX_PATH))
        assert index["format"] == "mobilekit-device-fixtures" and index["byte_order"] == "little" and index["dtype"] == "float32"
        assert index["tolerances"] == {"models/fake.tflite": {"target": "tflite", "precision": "fp32",
                                                              "tolerance": {"max_abs": 1e-4, "min_task_metric": 0.999}}}
        assert index["task_metric"] == "mask_iou"
        assert index["inputs"][0]["feed"]["coreml"]["as"] == "image" and index["inputs"][1]["feed"]["coreml"]["as"] == "multiarray"
        assert [c["id"] for c in index["cases"]] == ["case-000", "case-001", "case-002"]
        tensors = {(t["role"], t["name"]): t for t in index["cases"][1]["tensors"]}
        assert set(tensors) == {("input", "image"), ("input", "clicks"), ("expected", "mask")}
        mask = tensors[("expected", "mask")]
        assert mask["file"] == "case-001/expected/mask.bin" and mask["shape"] == [1, H, W, 1]
        data = zf.read("fixtures/" + mask["file"])
        assert hashlib.sha256(data).hexdigest() == mask["sha256"] and len(data) == mask["bytes"] == H * W * 4
        # what a Swift/Kotlin reader does: raw bytes, little-endian float32, row-major
        assert np.array_equal(np.frombuffer(data, "<f4").reshape(1, H, W, 1), expected["mask"][1:2])
        clicks = zf.read("fixtures/case-001/inputs/clicks.bin")
        assert clicks == expected_bytes_of(inputs["clicks"][1:2])


def expected_bytes_of(array):
    return array.astype("<f4").tobytes()


def test_fixture_bundle_bytes_are_deterministic(tmp_path):
    one, two = _bundle(tmp_path, "one.zip"), _bundle(tmp_path, "two.zip")
    assert one.read_bytes() == two.read_bytes()


def test_image_inputs_snap_to_exact_pixels():
    entry = [{"name": "image", "kind": "image", "normalization": IMAGE_NORM}]
    on_grid = (np.arange(256, dtype=np.float64) * (1 / 255)).astype(np.float32).reshape(1, 16, 16, 1)
    assert quantize_image_inputs({"image": on_grid}, entry)["image"].tobytes() == on_grid.tobytes()
    snapped = quantize_image_inputs({"image": np.full((1, 2, 2, 3), 0.5012, np.float32)}, entry)["image"]
    pixels = np.rint(snapped.astype(np.float64) * 255)  # the documented Core ML pixel formula
    assert np.all(pixels == 128) and np.array_equal((pixels * (1 / 255)).astype(np.float32), snapped)


def test_ingest_passes_on_goldens_and_fails_per_case_on_perturbed_outputs(tmp_path):
    bundle = _bundle(tmp_path)
    good = ingest(bundle, _device_dir(tmp_path, bundle, {"device": "Pixel 8", "runtime": "litert"}))
    assert good["passed"] and good["cases_failed"] == [] and good["artifact"] == "models/fake.tflite"
    assert good["overall"]["outputs"][0]["max_abs"] == 0.0 and good["cases"][0]["task_metric"]["value"] == 1.0

    bad_dir = _device_dir(tmp_path / "p", bundle, perturb=1)
    bad = ingest(bundle, bad_dir, report_dir=tmp_path / "reports")
    assert not bad["passed"] and bad["cases_failed"] == ["case-001"]
    failed = next(c for c in bad["cases"] if c["case"] == "case-001")
    assert any(line.startswith("✗ values of mask") for line in failed["checks"])
    assert any("task metric mask_iou" in line and line.startswith("✗") for line in failed["checks"])
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert "case-001" in junit and "<failure" in junit
    assert (tmp_path / "reports" / "report.html").is_file() and (tmp_path / "reports" / "parity.json").is_file()


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "case-002" / "mask.bin").unlink(), "case-002/mask.bin: missing"),
    (lambda d: (d / "case-000" / "mask.bin").write_bytes(b"\0" * 10), "case-000/mask.bin: 10 bytes, expected 256"),
    (lambda d: (d / "device.json").write_text("{not json"), "device.json: not valid JSON"),
])
def test_missing_misshapen_or_corrupt_device_files_name_the_file(tmp_path, damage, message):
    bundle = _bundle(tmp_path)
    out = _device_dir(tmp_path, bundle)
    damage(out)
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        read_device_outputs(out, read_goldens(bundle))


def test_corrupt_fixture_in_bundle_is_bad_input(tmp_path):
    bundle = _bundle(tmp_path)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[:-4] + b"\0\0\0\0" if info.filename.endswith("case-000/expected/mask.bin") else data)
    with pytest.raises(InputError, match="case-000/expected/mask.bin.*corrupt"):
        read_goldens(broken)


def test_cli_exit_codes_and_parity_alias(tmp_path):
    from mobilekit.cli import app

    bundle = _bundle(tmp_path)
    good = _device_dir(tmp_path / "g", bundle)
    bad = _device_dir(tmp_path / "b", bundle, perturb=0)
    runner = CliRunner()
    for group in (["qa"], ["parity"]):
        ok = runner.invoke(app, [*group, "ingest", "--bundle", str(bundle), "--outputs", str(good), "--json"])
        assert ok.exit_code == 0, ok.output
        assert json.loads(ok.stdout.strip().splitlines()[-1])["passed"] is True
    failed = runner.invoke(app, ["parity", "ingest", "--bundle", str(bundle), "--outputs", str(bad)])
    assert failed.exit_code == 1 and "✗ case-000" in failed.stdout and "FAILED: 2/3" in failed.stdout
    (good / "case-001" / "mask.bin").write_bytes(b"\0" * 7)
    corrupt = runner.invoke(app, ["qa", "ingest", "--bundle", str(bundle), "--outputs", str(good), "--json"])
    assert corrupt.exit_code == 2 and "case-001/mask.bin: 7 bytes" in json.loads(corrupt.stdout.strip().splitlines()[-1])["error"]
    # `parity` itself still takes its options (a missing --reference is a usage error, not a dispatch)
    usage = runner.invoke(app, ["parity", "--candidate", "x.tflite"])
    assert usage.exit_code == 2 and "--reference" in usage.output
