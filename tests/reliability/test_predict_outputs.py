"""What `predict segmentation|depth` writes, and that it is right for unusual photos: 16-bit
precision reaches the model and the outputs, EXIF-rotated photos are processed as displayed,
masks are lossless (0/255 or 16-bit probabilities with `--soft`), depth keeps millimetres in 16
bits, and every output is written atomically (a failure leaves what was there before).

Most cases run the families' predict pipelines with a stand-in predictor (no TensorFlow); one
runs `mobilekit predict segmentation` on a freshly trained tiny model."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from conftest import TINY, last_json, run_cli
from mobilekit.core.errors import InputError
from mobilekit.data.image_io import write_png


@dataclass
class StandIn:
    """The predictor contract (`height`, `width`, `runner`, `predict`) around a NumPy function."""

    fn: Callable[[dict], dict]
    height: int = 32
    width: int = 32
    runner: str = "stand-in"
    seen: list = field(default_factory=list)

    def predict(self, inputs: dict) -> dict:
        self.seen.append(inputs)
        return self.fn(inputs)


def _red_is_probability(inputs):
    return {"mask": inputs["image"][..., :1]}


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _gradient16(path: Path, h: int = 48, w: int = 64) -> np.ndarray:
    values = np.tile(np.linspace(0, 65535, w).round().astype(np.uint16), (h, 1))
    Image.fromarray(values).save(path)
    return values


# --------------------------------------------------------------------------- segmentation


def test_16_bit_photo_reaches_the_model_and_the_soft_mask(tmp_path):
    from mobilekit.families.segmentation.predict import predict_segmentation

    photo = tmp_path / "g16.png"
    values = _gradient16(photo)
    model = StandIn(_red_is_probability)
    summary = predict_segmentation(lambda: model, photo, ["5,5"], tmp_path / "soft.png", soft=True)
    model_input = model.seen[0]["image"][0]
    assert model_input.dtype == np.float32 and 0.0 <= model_input.min() and model_input.max() <= 1.0
    assert (model_input >= 0.999).mean() < 0.05  # the old reader fed ~all-white
    soft = np.asarray(Image.open(summary["mask"]))
    assert soft.dtype == np.uint16 and soft.shape == values.shape and summary["soft"] is True
    expected = values.astype(np.float64)
    assert np.abs(soft.astype(np.float64) - expected).mean() < 0.02 * 65535  # the gradient, through two resizes
    assert np.corrcoef(soft.ravel(), expected.ravel())[0, 1] > 0.99

    hard = predict_segmentation(lambda: model, photo, ["5,5"], tmp_path / "hard.png")
    mask = np.asarray(Image.open(hard["mask"]))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255} and hard["soft"] is False
    assert abs(mask.mean() / 255 - 0.5) < 0.05  # right half of the gradient
    assert Image.open(hard["overlay"]).mode == "RGB"


def test_exif_rotated_photo_is_processed_as_displayed(tmp_path):
    from mobilekit.families.segmentation.predict import predict_segmentation

    stored = np.zeros((40, 80, 3), np.uint8)  # 80 wide, 40 high as stored
    stored[:, :40] = (255, 0, 0)  # left half red as stored
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, exif=_exif(8), quality=95)
    model = StandIn(_red_is_probability)
    # y = 70 lies inside only the displayed (40 wide, 80 high) image
    summary = predict_segmentation(lambda: model, path, ["10,70", "30,5,-"], tmp_path / "m.png")
    assert summary["image_size"] == [40, 80] and summary["exif_orientation"] == 8
    mask = np.asarray(Image.open(summary["mask"]))
    assert mask.shape == (80, 40)
    # orientation 8 turns the stored left half into the displayed bottom half
    assert mask[60:].mean() > 250 and mask[:20].mean() < 5
    clicks = model.seen[0]["clicks"][0]
    assert clicks[int(70 * 32 / 80), int(10 * 32 / 40), 0] == 0.0  # the positive click where it was given
    assert np.asarray(Image.open(summary["overlay"])).shape == (80, 40, 3)


def test_a_failing_model_leaves_existing_outputs_untouched(tmp_path):
    from mobilekit.families.segmentation.predict import predict_segmentation

    photo = tmp_path / "p.png"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(photo)
    out = tmp_path / "mask.png"
    out.write_bytes(b"previous mask")

    def broken(inputs):
        raise InputError("the model failed")

    with pytest.raises(InputError, match="the model failed"):
        predict_segmentation(lambda: StandIn(broken), photo, ["1,1"], out)
    nan = StandIn(lambda inputs: {"mask": np.full((1, 32, 32, 1), np.nan, np.float32)})
    with pytest.raises(InputError, match="non-finite"):
        predict_segmentation(lambda: nan, photo, ["1,1"], out)
    assert out.read_bytes() == b"previous mask"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.png", "p.png"]  # no temp files left


def test_outputs_are_checked_before_the_model_loads(tmp_path):
    from mobilekit.families.depth.predict import predict_depth
    from mobilekit.families.segmentation.predict import predict_segmentation

    photo = tmp_path / "p.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)

    def never():
        raise AssertionError("the model must not be loaded")

    for out, match in [(tmp_path, "is a directory"), (tmp_path / "mask", "no extension"),
                       (photo, "same file as --image"), (tmp_path / "m.jpg", "accepted: .png")]:
        with pytest.raises(InputError, match=match):
            predict_segmentation(never, photo, ["1,1"], out)
    # a derived output colliding with the input is refused too
    overlay_named = tmp_path / "x.overlay.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(overlay_named)
    with pytest.raises(InputError, match="--out's overlay .* same file as --image"):
        predict_segmentation(never, overlay_named, ["1,1"], tmp_path / "x.png")
    with pytest.raises(InputError, match="--bokeh .* same file as --out's 16-bit depth"):
        predict_depth(never, photo, tmp_path / "d.png", focus="1,1", bokeh_out=tmp_path / "d.depth16.png")
    with pytest.raises(InputError, match="--focus and --bokeh go together"):
        predict_depth(never, photo, tmp_path / "d.png", focus="1,1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "x.overlay.png"]


def test_write_png_replaces_by_rename_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "deep" / "out.png"
    write_png(path, np.zeros((4, 4), np.uint8))
    inode = path.stat().st_ino
    write_png(path, np.full((4, 4), 7, np.uint16))
    assert path.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert np.asarray(Image.open(path)).dtype == np.uint16
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_png(path, np.zeros((4, 4), np.float32))
    assert path.read_bytes() == before and os.listdir(path.parent) == ["out.png"]


# --------------------------------------------------------------------------- depth


def test_depth_outputs_keep_millimetres_in_16_bits(tmp_path):
    from mobilekit.families.depth.predict import predict_depth

    photo = tmp_path / "g16.png"
    _gradient16(photo)
    constant = StandIn(lambda inputs: {"depth": np.full((1, 32, 32, 1), 1.2346, np.float32)})
    summary = predict_depth(lambda: constant, photo, tmp_path / "out" / "d.png")
    depth16 = np.asarray(Image.open(summary["depth16"]))
    assert depth16.dtype == np.uint16 and depth16.shape == (48, 64) and (depth16 == 1235).all()
    assert np.asarray(Image.open(summary["depth"])).shape == (48, 64, 3)

    # 0 means "invalid" in a depth PNG and 65535 is its ceiling: predictions are kept inside 1..65535
    extreme = StandIn(lambda inputs: {"depth": np.where(inputs["image"][..., :1] > 0.5, 500.0, 1e-5).astype(np.float32)})
    summary = predict_depth(lambda: extreme, photo, tmp_path / "e.png", focus="3,3", bokeh_out=tmp_path / "b.png")
    depth16 = np.asarray(Image.open(summary["depth16"]))
    assert depth16.min() == 1 and depth16.max() == 65535
    bokeh = np.asarray(Image.open(summary["bokeh"]))
    assert bokeh.shape == (48, 64, 3) and bokeh.dtype == np.uint8 and summary["image_size"] == [64, 48]


def test_depth_focus_uses_the_displayed_orientation(tmp_path):
    from mobilekit.families.depth.predict import predict_depth

    path = tmp_path / "phone.jpg"
    Image.fromarray(np.full((30, 90, 3), 120, np.uint8)).save(path, exif=_exif(6))
    flat = StandIn(lambda inputs: {"depth": np.ones((1, 32, 32, 1), np.float32)})
    summary = predict_depth(lambda: flat, path, tmp_path / "d.png", focus="20,80", bokeh_out=tmp_path / "b.png")
    assert summary["image_size"] == [30, 90] and summary["exif_orientation"] == 6
    assert np.asarray(Image.open(summary["depth16"])).shape == (90, 30)


# --------------------------------------------------------------------------- the CLI on a real model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    done = run_cli("train", "--config", str(TINY), "--out", str(tmp_path_factory.mktemp("train")), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    return Path(last_json(done.stdout)["model"])


def test_cli_predicts_on_an_exif_rotated_photo_with_a_click_valid_only_after_rotation(tiny_model, tmp_path):
    stored = np.random.default_rng(0).integers(150, 220, (60, 120, 3)).astype(np.uint8)
    stored[10:40, 20:60] = (200, 40, 40)
    photo = tmp_path / "portrait.jpg"
    Image.fromarray(stored).save(photo, exif=_exif(6), quality=92)
    before = photo.read_bytes()
    out = tmp_path / "out" / "mask.png"
    done = run_cli("predict", "segmentation", "--model", str(tiny_model), "--image", str(photo),
                   "--click", "30,100", "--click", "2,2,-", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = last_json(done.stdout)
    assert summary["exif_orientation"] == 6 and summary["image_size"] == [60, 120] and summary["runner"] == "tensorflow"
    mask = np.asarray(Image.open(out))
    assert mask.shape == (120, 60) and set(np.unique(mask)) <= {0, 255}
    assert photo.read_bytes() == before

    soft = tmp_path / "soft.png"
    done = run_cli("predict", "segmentation", "--model", str(tiny_model), "--image", str(photo),
                   "--click", "30,100", "--out", str(soft), "--soft", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    probabilities = np.asarray(Image.open(soft))
    assert probabilities.dtype == np.uint16 and probabilities.shape == (120, 60)
