"""Depth family data: DepthSample checks, synthetic scenes with exact depth, folder pairs, augmentation."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from mobilekit.core.errors import InputError
from mobilekit.families.depth.augment import augment_depth, resize_depth_sample
from mobilekit.families.depth.folders import load_folder_pairs
from mobilekit.families.depth.samples import DepthSample
from mobilekit.families.depth.synthetic import (
    LAYER_BACKGROUND,
    LAYER_FIGURE,
    LAYER_GROUND,
    LAYER_OBJECT,
    MAX_DEPTH,
    MIN_DEPTH,
    synthetic_depth_scene,
)


def _scene(seed: int, height: int = 96, width: int = 128):
    return synthetic_depth_scene(np.random.default_rng(seed), height, width, return_params=True)


def _pinhole(p, rows: np.ndarray) -> np.ndarray:
    """z = f * h / (y - horizon), written out here rather than taken from SceneParams.ground_depth."""
    return np.clip(p.focal * p.camera_height / (rows - p.horizon), MIN_DEPTH, MAX_DEPTH)


# ---------------------------------------------------------------- DepthSample


def _plain(h: int = 4, w: int = 5, **over) -> dict:
    fields = dict(image=np.zeros((h, w, 3), np.uint8), depth=np.ones((h, w), np.float32),
                  valid=np.ones((h, w), bool), portrait=np.zeros((h, w), bool))
    fields.update(over)
    return fields


def test_depth_sample_checks_shapes_dtypes_and_values():
    assert DepthSample(**_plain()).size == (4, 5)
    bad = [
        dict(image=np.zeros((4, 5), np.uint8)),
        dict(image=np.zeros((4, 5, 3), np.float32)),
        dict(depth=np.ones((4, 5), np.float64)),
        dict(depth=np.ones((4, 6), np.float32)),
        dict(valid=np.ones((4, 5), np.uint8)),
        dict(portrait=np.zeros((5, 4), bool)),
        dict(depth=np.full((4, 5), np.nan, np.float32)),
        dict(depth=np.zeros((4, 5), np.float32)),  # 0 where valid
    ]
    for over in bad:
        with pytest.raises(InputError, match="DepthSample"):
            DepthSample(**_plain(**over))
    with pytest.raises(InputError, match="has_portrait"):
        DepthSample(**_plain(portrait=np.ones((4, 5), bool)), has_portrait=False)
    ok = DepthSample(**_plain(depth=np.zeros((4, 5), np.float32), valid=np.zeros((4, 5), bool)), has_portrait=False)
    assert not ok.valid.any()


# ---------------------------------------------------------------- synthetic scenes


def test_synthetic_scenes_are_deterministic_per_seed():
    a = synthetic_depth_scene(np.random.default_rng(3), 64, 80)
    b = synthetic_depth_scene(np.random.default_rng(3), 64, 80)
    c = synthetic_depth_scene(np.random.default_rng(4), 64, 80)
    for name in ("image", "depth", "valid", "portrait"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.image, c.image) and not np.array_equal(a.depth, c.depth)
    rng = np.random.default_rng(5)
    assert not np.array_equal(synthetic_depth_scene(rng, 64, 80).depth, synthetic_depth_scene(rng, 64, 80).depth)


def test_synthetic_sample_types_ranges_and_dropout():
    holes = 0
    for seed in range(60):
        s, p = _scene(seed, 64, 96)
        assert s.image.shape == (64, 96, 3) and s.image.dtype == np.uint8
        assert s.depth.dtype == np.float32 and s.has_portrait
        z = s.depth[s.valid]
        assert z.min() >= MIN_DEPTH * 0.999 and z.max() <= MAX_DEPTH * 1.001
        assert (s.depth[~s.valid] == 0).all()
        invalid = 1 - s.valid.mean()
        assert invalid < 0.03
        holes += invalid > 0
        assert p.layers.shape == (64, 96) and s.image.std() > 10  # textured, not flat
    assert 3 <= holes <= 25  # ~20 % of scenes


def test_ground_depth_is_exact_below_the_horizon():
    for seed in range(20):
        s, p = _scene(seed)
        rows = np.arange(s.size[0], dtype=np.float64)[:, None]
        ground = (p.layers == LAYER_GROUND) & s.valid
        assert ground.mean() > 0.05
        assert (rows[:, 0][ground.any(axis=1)] > p.horizon).all()
        expected = np.broadcast_to(_pinhole(p, np.maximum(rows, p.horizon + 1e-3)), s.size)
        np.testing.assert_allclose(s.depth[ground], expected[ground], rtol=1e-5)
        np.testing.assert_allclose(p.ground_depth(rows)[:, 0][rows[:, 0] > p.horizon],
                                   _pinhole(p, rows[rows > p.horizon]), rtol=1e-12)
        # rows that show nothing but ground: constant along the row, farther towards the horizon
        full = (p.layers == LAYER_GROUND).all(axis=1) & s.valid.all(axis=1)
        if full.sum() >= 2:
            per_row = s.depth[full]
            assert (per_row == per_row[:, :1]).all()
            assert (np.diff(per_row[:, 0]) < 0).all()


def test_nearer_layers_occlude_farther_ones():
    figures = 0
    for seed in range(30):
        s, p = _scene(seed)
        rows = np.broadcast_to(np.arange(s.size[0], dtype=np.float64)[:, None], s.size)
        below = rows > p.horizon
        ground_behind = np.where(below, _pinhole(p, np.maximum(rows, p.horizon + 1e-3)), np.inf)
        for layer in [LAYER_FIGURE] + [LAYER_OBJECT + i for i in range(len(p.objects))]:
            here = (p.layers == layer) & s.valid
            assert (s.depth[here] < ground_behind[here] + 1e-4).all(), (seed, layer)
        np.testing.assert_array_equal(s.portrait, p.layers == LAYER_FIGURE)
        if s.portrait.any():
            figures += 1
            px = s.portrait & s.valid
            assert (s.depth[px] < ground_behind[px]).all()
            assert (s.depth[px] <= p.figure_depth + 0.05).all()
            assert s.depth[px].mean() < s.depth[~s.portrait & s.valid].mean()
        background = (p.layers == LAYER_BACKGROUND) & s.valid
        assert (s.depth[background] >= 5.0).all()  # facades (>= ~6 m when slanted), hills and sky stay far
    assert figures >= 20


def test_objects_stand_on_the_ground():
    """An object's lowest visible pixels, when nothing nearer hides them, sit where the ground has their depth."""
    checked = 0
    for seed in range(40):
        s, p = _scene(seed, 128, 128)
        for i, obj in enumerate(p.objects):
            here = p.layers == LAYER_OBJECT + i
            if not here.any():
                continue
            r = int(np.nonzero(here.any(axis=1))[0].max())
            if r >= s.size[0] - 1:
                continue
            cols = np.nonzero(here[r])[0]
            below = p.layers[r + 1, cols]
            if not ((below == LAYER_GROUND).all() and s.valid[r, cols].all()):
                continue  # bottom edge occluded
            z = s.depth[r, cols].min()
            assert abs(z - _pinhole(p, np.float64(r))) < 0.12 * z, (seed, obj)
            assert abs(obj.contact_depth - z) < 0.1 * z
            checked += 1
    assert checked >= 15


def test_portrait_mask_is_common_and_lies_nearest():
    with_figure = 0
    for seed in range(40):
        s, p = _scene(seed, 64, 64)
        if p.figure_depth is None:
            assert not s.portrait.any()
            continue
        with_figure += s.portrait.any()
        if s.portrait.any():
            near = np.quantile(s.depth[s.valid], 0.5)
            assert np.median(s.depth[s.portrait & s.valid]) < near
    assert 28 <= with_figure <= 39  # ~85 %


def test_synthetic_scenes_are_fast():
    rng = np.random.default_rng(0)
    synthetic_depth_scene(rng, 128, 128)
    for (h, w), n, limit_ms in (((128, 128), 40, 15.0), ((256, 256), 12, 60.0)):
        start = time.perf_counter()
        for _ in range(n):
            synthetic_depth_scene(rng, h, w)
        mean_ms = (time.perf_counter() - start) / n * 1e3
        assert mean_ms < limit_ms, f"{h}x{w}: {mean_ms:.1f} ms per scene"


def test_synthetic_scene_refuses_tiny_sizes():
    with pytest.raises(InputError, match="16x16"):
        synthetic_depth_scene(np.random.default_rng(0), 8, 64)


# ---------------------------------------------------------------- folder pairs


def _write_image(path, h: int, w: int, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def _write_png16(path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.uint16)).save(path)


def _write_mask(path, mask: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask.astype(np.uint8) * 255).save(path)


def _dataset(root):
    mm = np.full((6, 8), 1234, np.uint16)
    mm[0, 0], mm[1, 1], mm[2, 2] = 0, 65535, 300
    _write_image(root / "images" / "a.png", 6, 8)
    _write_png16(root / "depth" / "a.png", mm)
    _write_image(root / "images" / "b.jpg", 5, 7, seed=1)
    metres = np.full((5, 7), 2.5)
    metres[0, :4] = [np.nan, np.inf, -1.0, 0.0]
    (root / "depth").mkdir(parents=True, exist_ok=True)
    np.save(root / "depth" / "b.npy", metres)
    _write_image(root / "images" / "c.png", 4, 4, seed=2)
    _write_png16(root / "depth" / "c.png", np.arange(1, 17).reshape(4, 4) * 1000)
    valid = np.ones((4, 4), bool)
    valid[:, 0] = False
    _write_mask(root / "valid" / "c.png", valid)
    person = np.zeros((4, 4), bool)
    person[1:3, 1:3] = True
    _write_mask(root / "portrait" / "c.png", person)
    return person


def test_folder_pairs_read_millimetres_metres_and_masks(tmp_path):
    person = _dataset(tmp_path)
    a, b, c = list(load_folder_pairs(tmp_path))
    assert a.size == (6, 8) and b.size == (5, 7) and c.size == (4, 4)
    assert a.depth[3, 3] == pytest.approx(1.234) and a.depth[1, 1] == pytest.approx(65.535)
    assert a.depth[2, 2] == pytest.approx(0.3)
    assert not a.valid[0, 0] and a.depth[0, 0] == 0 and a.valid.sum() == 6 * 8 - 1
    assert not a.has_portrait and not a.portrait.any()
    assert b.valid[0].tolist() == [False] * 4 + [True] * 3 and (b.depth[0, :4] == 0).all()
    assert b.depth[1, 1] == pytest.approx(2.5) and b.depth.dtype == np.float32
    assert not c.valid[:, 0].any() and (c.depth[:, 0] == 0).all() and c.valid[:, 1:].all()
    assert c.depth[3, 3] == pytest.approx(16.0)
    assert c.has_portrait and (c.portrait == person).all()


def test_folder_image_without_depth_is_named(tmp_path):
    _dataset(tmp_path)
    _write_image(tmp_path / "images" / "d.png", 4, 4)
    with pytest.raises(InputError, match=r"no depth.*d\.png"):
        load_folder_pairs(tmp_path)


def test_folder_size_mismatch_names_both_files(tmp_path):
    _write_image(tmp_path / "images" / "a.png", 6, 8)
    _write_png16(tmp_path / "depth" / "a.png", np.full((6, 7), 1000))
    with pytest.raises(InputError, match=r"depth[/\\]a\.png.*images[/\\]a\.png"):
        list(load_folder_pairs(tmp_path))
    _write_png16(tmp_path / "depth" / "a.png", np.full((6, 8), 1000))
    _write_mask(tmp_path / "portrait" / "a.png", np.ones((3, 3), bool))
    with pytest.raises(InputError, match=r"portrait[/\\]a\.png"):
        list(load_folder_pairs(tmp_path))


def test_folder_bad_layouts_and_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_folder_pairs(tmp_path / "nowhere")
    with pytest.raises(InputError, match="images"):
        load_folder_pairs(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "depth").mkdir()
    with pytest.raises(InputError, match="no images"):
        load_folder_pairs(tmp_path)
    _write_image(tmp_path / "images" / "a.png", 4, 4)
    Image.fromarray(np.full((4, 4), 200, np.uint8)).save(tmp_path / "depth" / "a.png")  # 8-bit
    with pytest.raises(InputError, match="16-bit"):
        list(load_folder_pairs(tmp_path))
    np.save(tmp_path / "depth" / "a.npy", np.ones((4, 4)))
    with pytest.raises(InputError, match="two depth files"):
        load_folder_pairs(tmp_path)
    (tmp_path / "depth" / "a.png").unlink()
    np.save(tmp_path / "depth" / "a.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="cannot read depth"):
        list(load_folder_pairs(tmp_path))


# ---------------------------------------------------------------- augmentation


def _coded_sample(h: int = 48, w: int = 64, block: int = 8) -> tuple[DepthSample, dict]:
    """Blocks of distinct random colours; depth, valid and portrait are functions of the block colour."""
    rng = np.random.default_rng(7)
    n = (h // block) * (w // block)
    palette = rng.choice(256 ** 3, size=n, replace=False)
    colours = np.stack([(palette >> 16) & 255, (palette >> 8) & 255, palette & 255], axis=1).astype(np.uint8)
    idx = (np.arange(h)[:, None] // block) * (w // block) + np.arange(w)[None, :] // block
    valid_of = np.arange(n) % 5 != 0
    depth_of = np.where(valid_of, 0.5 + 0.25 * np.arange(n), 0.0).astype(np.float32)
    portrait_of = np.arange(n) % 3 == 0
    sample = DepthSample(image=colours[idx], depth=depth_of[idx], valid=valid_of[idx], portrait=portrait_of[idx])
    lookup = {tuple(int(v) for v in colours[i]): i for i in range(n)}
    return sample, dict(lookup=lookup, depth=depth_of, valid=valid_of, portrait=portrait_of, cols=w // block)


def test_augmentation_keeps_image_depth_and_masks_aligned():
    sample, code = _coded_sample()
    mirrored = set()
    for seed in range(16):
        size = (40, 52) if seed % 2 else (96, 112)
        out = augment_depth(sample, np.random.default_rng(seed), size, jitter=0.0)
        assert out.size == size
        decoded = 0
        block_cols = []
        for (r, c), colour in np.ndenumerate(out.image.reshape(-1, 3).view([("", np.uint8)] * 3).reshape(size)):
            i = code["lookup"].get(tuple(int(v) for v in colour))
            if i is None:
                continue  # a bilinear blend across a block edge
            decoded += 1
            assert out.depth[r, c] == code["depth"][i] and out.valid[r, c] == code["valid"][i]
            assert out.portrait[r, c] == code["portrait"][i]
            block_cols.append((c, i % code["cols"]))
        assert decoded > 0.4 * size[0] * size[1]
        cs, bs = np.array(block_cols).T
        mirrored.add(bool(np.corrcoef(cs, bs)[0, 1] < 0))
    assert mirrored == {True, False}  # both flipped and unflipped draws happened


def test_augmentation_only_moves_depth_values():
    sample = synthetic_depth_scene(np.random.default_rng(11), 96, 128)
    sample.valid[10:20, 10:30] = False
    sample.depth[~sample.valid] = 0
    source = set(np.unique(sample.depth).tolist())
    for seed in range(6):
        for size in ((64, 64), (120, 160), (48, 96)):
            out = augment_depth(sample, np.random.default_rng(seed), size)
            assert set(np.unique(out.depth).tolist()) <= source
            assert (out.depth[~out.valid] == 0).all() and (out.depth[out.valid] > 0).all()
            assert out.has_portrait == sample.has_portrait


def test_augmentation_is_deterministic_and_jitter_touches_the_image_only():
    sample = synthetic_depth_scene(np.random.default_rng(2), 64, 64)
    a = augment_depth(sample, np.random.default_rng(9), (48, 48))
    b = augment_depth(sample, np.random.default_rng(9), (48, 48))
    plain = augment_depth(sample, np.random.default_rng(9), (48, 48), jitter=0.0)
    for name in ("image", "depth", "valid", "portrait"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("depth", "valid", "portrait"):
        np.testing.assert_array_equal(getattr(a, name), getattr(plain, name))
    assert not np.array_equal(a.image, plain.image)
    assert np.abs(a.image.astype(int) - plain.image.astype(int)).mean() < 40


def test_resize_depth_sample_is_nearest_for_depth_and_masks():
    sample, code = _coded_sample()
    out = resize_depth_sample(sample, (24, 32))
    assert out.size == (24, 32) and set(np.unique(out.depth)) <= set(np.unique(sample.depth))
    np.testing.assert_array_equal(out.depth, sample.depth[1::2, 1::2])
    np.testing.assert_array_equal(out.portrait, sample.portrait[1::2, 1::2])
    same = resize_depth_sample(sample, sample.size)
    np.testing.assert_array_equal(same.depth, sample.depth)
    assert same.depth is not sample.depth


def test_augmentation_refuses_bad_arguments():
    sample, _ = _coded_sample()
    with pytest.raises(InputError, match="size"):
        augment_depth(sample, np.random.default_rng(0), (0, 10))
    with pytest.raises(InputError, match="scale"):
        augment_depth(sample, np.random.default_rng(0), (10, 10), scale=(0.8, 1.0))
    with pytest.raises(InputError, match="size"):
        resize_depth_sample(sample, (10,))
