"""Folder dataset loader: root/images/<stem>.{jpg,png} + root/masks/<stem>.png with instance ids."""
import numpy as np
import pytest
from PIL import Image

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.folders import load_folder_samples


def _write(root, stem, image, mask, ext="png", mode=None):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(root / "images" / f"{stem}.{ext}")
    im = Image.fromarray(mask)
    if mode == "P":
        im = im.convert("P")
    im.save(root / "masks" / f"{stem}.png")


def _ids():
    m = np.zeros((10, 12), np.uint8)
    m[1:4, 1:5] = 1
    m[6:9, 2:10] = 2
    return m


def test_instances_binary_masks_and_empty_masks(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (10, 12, 3), dtype=np.uint8)
    _write(tmp_path, "a", rgb, _ids())
    binary = np.zeros((8, 8), np.uint8)
    binary[2:6, 2:6] = 255
    _write(tmp_path, "b", np.zeros((8, 8, 3), np.uint8), binary, ext="jpg")
    _write(tmp_path, "c", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8))  # no object
    samples = list(load_folder_samples(tmp_path))
    assert len(samples) == 3
    a1, a2, b = samples
    np.testing.assert_array_equal(a1.image, rgb)
    np.testing.assert_array_equal(a1.target, _ids() == 1)
    np.testing.assert_array_equal(a2.target, _ids() == 2)
    assert len(a1.others) == 1 and np.array_equal(a1.others[0], a2.target)
    assert b.target.sum() == 16 and b.others == [] and b.image.shape == (8, 8, 3)
    assert len(list(load_folder_samples(tmp_path, max_samples=2))) == 2


def test_palette_mask_and_voc_void_label(tmp_path):
    m = _ids()
    m[0, :] = 255  # VOC "void" border beside real ids: ignored
    _write(tmp_path, "v", np.zeros((10, 12, 3), np.uint8), m, mode="P")
    samples = list(load_folder_samples(tmp_path))
    assert len(samples) == 2
    np.testing.assert_array_equal(samples[0].target, _ids() == 1)


def test_colour_coded_mask(tmp_path):
    m = np.zeros((6, 6, 3), np.uint8)
    m[0:2, 0:2] = (255, 0, 0)
    m[3:6, 3:6] = (0, 128, 255)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(tmp_path / "images" / "x.png")
    Image.fromarray(m).save(tmp_path / "masks" / "x.png")
    targets = sorted(int(s.target.sum()) for s in load_folder_samples(tmp_path))
    assert targets == [4, 9]


def test_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_folder_samples(tmp_path / "nope")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(InputError, match="no images"):
        load_folder_samples(tmp_path)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "lonely.png")
    with pytest.raises(InputError, match="lonely.png"):
        load_folder_samples(tmp_path)
    Image.fromarray(np.ones((5, 4), np.uint8)).save(tmp_path / "masks" / "lonely.png")
    with pytest.raises(InputError, match="5x4"):
        list(load_folder_samples(tmp_path))
