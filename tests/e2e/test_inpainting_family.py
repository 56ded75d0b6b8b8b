"""Inpainting family end to end on the tiny preset: both platforms pass parity on Linux with the
hole-PSNR task metric, and `predict inpaint` on a 12 MP photo keeps every pixel outside the mask
bit-identical; bad masks exit 2 before the model is loaded."""
from __future__ import annotations

import json
import resource
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, last_json, run_cli

TINY = REPO / "configs" / "inpainting-tiny.yaml"


@pytest.fixture(scope="module")
def inpainting_build(tmp_path_factory):
    from mobilekit.pipeline.build import build

    tmp = tmp_path_factory.mktemp("inpainting")
    result = build("all", TINY, tmp / "dist", unpacked=True)
    return result, tmp / "dist"


def _manifest(bundle: Path) -> dict:
    return json.loads(zipfile.ZipFile(bundle).read("manifest.json"))


def test_both_platforms_pass_parity_with_the_hole_psnr_task_metric(inpainting_build):
    from mobilekit.bundle.reader import verify_bundle

    result, _ = inpainting_build
    assert result.parity_passed and not result.not_verified, result.parity
    for bundle in result.bundles:
        assert verify_bundle(bundle).ok
        manifest = _manifest(bundle)
        assert [t["name"] for t in manifest["inputs"]] == ["image", "mask"]
        for gate in manifest["parity"].values():
            (task,) = gate["task_metrics"]
            assert task["name"] == "hole_psnr" and task["value"] >= 60.0 and task["passed"]
        assert "hole_psnr_30_50" in manifest["model"]["quality"]


def _photo_and_mask(tmp_path: Path, size=(3024, 4032)) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A synthetic 12 MP photo (gradients + texture) and a mask: one large blob plus thin strokes."""
    from PIL import Image, ImageDraw

    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    photo = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx // 97 + yy // 89) % 2) * 120 + 60], axis=2).astype(np.uint8)
    photo = np.clip(photo.astype(np.int16) + rng.integers(-12, 13, photo.shape), 0, 255).astype(np.uint8)
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((1200, 900, 2300, 1900), fill=255)
    draw.line([(200, 2500), (900, 2300), (1500, 2700)], fill=255, width=40)
    draw.line([(3300, 300), (3600, 1400)], fill=255, width=18)
    mask = np.asarray(canvas) > 127
    Image.fromarray(photo).save(tmp_path / "photo.png")
    canvas.save(tmp_path / "mask.png")
    return tmp_path / "photo.png", tmp_path / "mask.png", photo, mask


def test_predict_inpaint_12mp_keeps_pixels_outside_the_mask(inpainting_build, tmp_path):
    from PIL import Image

    _, dist = inpainting_build
    model = dist / "object-removal-tiny-0.1.0-android" / "models" / "object-removal-tiny.tflite"
    photo_path, mask_path, photo, mask = _photo_and_mask(tmp_path)
    out = tmp_path / "out.png"
    started = time.perf_counter()
    done = run_cli("predict", "inpaint", "--model", str(model), "--image", str(photo_path), "--mask", str(mask_path),
                   "--out", str(out), "--highres", "both", "--json")
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"predict inpaint --highres both at 4032x3024: {seconds:.1f} s wall (CLI start included), "
          f"peak RSS of the largest child so far {peak_mb:.0f} MB")
    result = np.asarray(Image.open(out).convert("RGB"))
    assert result.shape == photo.shape
    assert np.array_equal(result[~mask], photo[~mask])
    assert np.abs(result[mask].astype(int) - photo[mask]).mean() > 0  # the hole was filled, not copied
    assert last_json(done.stdout)["strategy"] == "both"


@pytest.mark.parametrize("case", ["wrong-size", "whole", "not-png", "bad-highres"])
def test_bad_masks_exit_2_before_loading_the_model(tmp_path, case):
    from PIL import Image

    photo = np.full((60, 80, 3), 128, np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    mask_path = tmp_path / ("mask.jpg" if case == "not-png" else "mask.png")
    mask = np.zeros((60, 80), np.uint8) if case != "wrong-size" else np.zeros((61, 80), np.uint8)
    mask[10:20, 10:20] = 255
    if case == "whole":
        mask[:] = 255
    Image.fromarray(mask).save(mask_path)
    done = run_cli("predict", "inpaint", "--model", str(tmp_path / "missing.tflite"), "--image", str(tmp_path / "photo.png"),
                   "--mask", str(mask_path), "--out", str(tmp_path / "out.png"),
                   *(["--highres", "tiles"] if case == "bad-highres" else []))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and ("--highres" if case == "bad-highres" else "mask") in done.stderr
    assert not (tmp_path / "out.png").exists()


def test_empty_mask_returns_the_photo_unchanged_without_a_model(tmp_path):
    from PIL import Image

    photo = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(np.zeros((40, 50), np.uint8)).save(tmp_path / "mask.png")
    done = run_cli("predict", "inpaint", "--model", str(tmp_path / "missing.tflite"), "--image", str(tmp_path / "photo.png"),
                   "--mask", str(tmp_path / "mask.png"), "--out", str(tmp_path / "out.png"), "--json")
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), photo)
    assert "empty mask" in " ".join(last_json(done.stdout)["notes"])
