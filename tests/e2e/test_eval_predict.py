"""`eval` and `predict segmentation` on the tiny model, with every artifact type."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import TINY, last_json, run_cli


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "photo.jpg"
    rng = np.random.default_rng(0)
    img = rng.integers(150, 220, size=(150, 200, 3)).astype(np.uint8)
    img[40:110, 60:140] = (200, 40, 40)
    Image.fromarray(img).save(path, quality=92)
    return path


def test_eval_reports_quality_and_is_reproducible(tmp_path):
    first = run_cli("eval", "--config", str(TINY), "--json")
    assert first.returncode == 0, first.stderr[-2000:]
    report = last_json(first.stdout)
    assert set(report) >= {"iou", "noc85", "noc90", "params", "boundary_f"}
    assert 0.0 <= report["iou"] <= 1.0 and 1 <= report["noc85"] <= 20 and report["params"] == 49_983
    second = last_json(run_cli("eval", "--config", str(TINY), "--json").stdout)
    assert {k: second[k] for k in ("iou", "noc85", "noc90")} == {k: report[k] for k in ("iou", "noc85", "noc90")}


def test_predict_with_reference_tflite_and_mlpackage_agree(tiny_build, photo, tmp_path):
    _, out = tiny_build
    for platform in ("android", "ios"):
        with zipfile.ZipFile(out / f"object-select-tiny-0.1.0-{platform}.zip") as zf:
            zf.extractall(tmp_path / platform)
    trained = last_json(run_cli("train", "--config", str(TINY), "--out", str(tmp_path / "run"), "--json").stdout)["model"]
    models = [trained, tmp_path / "android/models/object-select-tiny.tflite", tmp_path / "ios/models/object-select-tiny.mlpackage"]
    masks = []
    for i, model in enumerate(models):
        target = tmp_path / f"mask{i}.png"
        proc = run_cli("predict", "segmentation", "--model", str(model), "--image", str(photo),
                       "--click", "100,75", "--click", "5,5,-", "--out", str(target), "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = last_json(proc.stdout)
        assert summary["runner"] in ("tensorflow", "litert", "mil-executor", "coreml-macos")
        mask = np.asarray(Image.open(target))
        assert mask.shape == (150, 200) and set(np.unique(mask)) <= {0, 255}
        overlay = np.asarray(Image.open(summary["overlay"]))
        assert overlay.shape == (150, 200, 3)
        masks.append(mask)
    # Converted models select the same pixels as the reference (tiny model, fp32 targets).
    for mask in masks[1:]:
        assert np.mean(mask != masks[0]) < 0.005


@pytest.mark.parametrize("click, message", [("100", "malformed click"), ("1,2,x", "malformed click"),
                                            ("500,10", "outside the image"), ("-3,4", "malformed click")])
def test_bad_clicks_exit_2(photo, tmp_path, click, message):
    proc = run_cli("predict", "segmentation", "--model", str(tmp_path / "missing.keras"), "--image", str(photo), "--click", click)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-1000:]
