"""Copy-paste composites: exact masks, held-out splits from photos training never saw, RGBA folder
objects (and a clear error for objects without alpha), deterministic per seed."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.composites import Cutout, composite_samples, composite_scene, rgba_cutout


def test_the_target_mask_is_exactly_where_the_object_was_pasted():
    rng = np.random.default_rng(0)
    background = np.full((64, 80, 3), 40, np.uint8)
    obj = Cutout(np.full((20, 30, 3), 250.0, np.float32), np.ones((20, 30), np.float32))
    sample = composite_scene(rng, background, lambda: obj, max_objects=1)
    assert sample.target.shape == (64, 80) and sample.target.mean() >= 0.02
    inside, outside = sample.image[sample.target], sample.image[~sample.target & ~_border(sample.target)]
    assert inside.mean() > 150 and outside.mean() < 60  # jitter moves colours, not the boundary


def _border(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, iterations=2) & ~mask


def test_deterministic_per_seed_and_held_out_photos_only(monkeypatch):
    import mobilekit.data.sample_photos as sample_photos

    used: list[str] = []
    original = sample_photos.sample_photo_path
    monkeypatch.setattr(sample_photos, "sample_photo_path", lambda name: used.append(name) or original(name))
    first = [next(composite_samples(None, None, "val", np.random.default_rng(5), (64, 64), 3)) for _ in range(2)]
    assert set(used) <= set(sample_photos.HELD_OUT)
    again = next(composite_samples(None, None, "val", np.random.default_rng(5), (64, 64), 3))
    assert np.array_equal(first[0].image, again.image) and np.array_equal(first[0].target, again.target)
    used.clear()
    train = next(composite_samples(None, None, "train", np.random.default_rng(5), (64, 64), 3))
    assert set(used) <= set(sample_photos.TRAINING) | set(sample_photos.SILHOUETTES)
    assert not set(used) & set(sample_photos.HELD_OUT)
    assert train.image.shape == (64, 64, 3) and train.target.any()


def _rgba(path, alpha: np.ndarray) -> None:
    rgb = np.zeros(alpha.shape + (3,), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(np.dstack([rgb, alpha]).astype(np.uint8), "RGBA").save(path)


def test_rgba_folder_objects_on_photo_folder_backgrounds(tmp_path):
    objects, backgrounds = tmp_path / "objects", tmp_path / "backgrounds"
    objects.mkdir(), backgrounds.mkdir()
    alpha = np.zeros((40, 40), np.uint8)
    alpha[10:30, 5:35] = 255
    for i in range(3):
        _rgba(objects / f"o{i}.png", alpha)
        Image.fromarray(np.full((50, 70, 3), 30 + i, np.uint8)).save(backgrounds / f"b{i}.jpg")
    sample = next(composite_samples(objects, backgrounds, "train", np.random.default_rng(0), (48, 48), 2))
    assert sample.target.any() and sample.image[sample.target][:, 0].mean() > 120


def test_an_object_without_alpha_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "flat.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    with pytest.raises(InputError, match="flat.png.*no alpha"):
        rgba_cutout(path)
    _rgba(path, np.full((8, 8), 255, np.uint8))
    with pytest.raises(InputError, match="fully opaque"):
        rgba_cutout(path)


def test_config_with_the_composites_source_builds_splits(tmp_path):
    import yaml

    from conftest import REPO
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family

    data = yaml.safe_load((REPO / "configs" / "segmentation-tiny.yaml").read_text())
    data["data"]["source"] = "composites"
    data["segmentation"] = {"composites": {"max_objects": 2}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    config, _ = load_config(path)
    split = get_family("segmentation").make_split(config, "val")
    assert split.inputs["image"].shape == (4, 64, 64, 3) and split.targets["mask"].sum() > 0
