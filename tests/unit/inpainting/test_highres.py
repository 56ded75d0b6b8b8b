"""High-resolution object removal (`mobilekit.families.inpainting.highres`) with a cheap stand-in model."""
from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage

from mobilekit.core.errors import InputError
from mobilekit.families.inpainting.highres import STRATEGIES, check_mask, remove_object, shrink_fill
from mobilekit.families.inpainting.highres_peers import (
    bicubic_bands, crop_box, erode_square, merge_regions, outer_components, resize_area_fast, resize_bicubic_fast,
)
from mobilekit.shaders.reference import erosion2d, resize_area, resize_bicubic

SENTINEL = np.array([255, 0, 255], np.uint8)
MODEL = (256, 256)


class DiffusionInpaint:
    """Stand-in model: holes filled by 50 iterations of a 3x3 box blur restricted to hole pixels
    (on the hole's bounding box); records the (h, w) of every call and the masks it got."""

    def __init__(self, keep_masks: bool = False) -> None:
        self.shapes: list[tuple[int, int]] = []
        self.masks: list[np.ndarray] = []
        self.keep_masks = keep_masks

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        assert image.dtype == np.float32 and mask.dtype == np.float32 and image.shape[:2] == mask.shape
        self.shapes.append(image.shape[:2])
        if self.keep_masks:
            self.masks.append(mask > 0.5)
        out, hole = image.copy(), mask > 0.5
        ys, xs = np.nonzero(hole)
        box = np.s_[max(ys.min() - 1, 0) : ys.max() + 2, max(xs.min() - 1, 0) : xs.max() + 2]
        sub, sub_hole = out[box], hole[box]
        known = sub[~sub_hole]
        sub[sub_hole] = known.mean(axis=0) if known.size else 0.5
        for _ in range(50):
            sub[sub_hole] = ndimage.uniform_filter(sub, size=(3, 3, 1), mode="nearest")[sub_hole]
        return out


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Gradients, a wave and tiled noise: a textured uint8 photo (cheap at 12 MP)."""
    rng = np.random.default_rng(seed)
    photo = np.empty((h, w, 3), np.uint8)
    photo[:, :, 0] = (np.arange(w) * 200 // w)[None, :]
    photo[:, :, 1] = (np.arange(h) * 200 // h)[:, None]
    photo[:, :, 2] = (100 + 60 * np.sin(np.arange(w) / 37.0)).astype(np.uint8)[None, :]
    noise = rng.integers(0, 40, (61, 67, 3), dtype=np.uint8)
    photo += np.tile(noise, (h // 61 + 1, w // 67 + 1, 1))[:h, :w]
    return photo


def _disk(shape: tuple[int, int], cy: int, cx: int, r: int) -> np.ndarray:
    y, x = np.ogrid[0 : shape[0], 0 : shape[1]]
    return (y - cy) ** 2 + (x - cx) ** 2 <= r * r


def _blob_and_strokes(shape: tuple[int, int], blob_fraction: float) -> np.ndarray:
    h, w = shape
    mask = _disk(shape, h // 2, w // 2, int(np.sqrt(blob_fraction * h * w / np.pi)))
    for i in range(3):  # a few thin strokes near the corners
        y0, x0 = int(h * (0.1 + 0.05 * i)), int(w * 0.08)
        mask[y0 : y0 + max(2, h // 300), x0 : x0 + w // 6] = True
    mask[int(h * 0.85) : int(h * 0.85) + 5, int(w * 0.7) : int(w * 0.9)] = True
    return mask


def _assert_removed(image: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.array_equal(out[~mask], image[~mask])
    assert (out[mask] != SENTINEL).any(axis=1).all()


# --------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("src, dst", [((37, 53), (11, 17)), ((30, 41), (64, 50)), ((20, 30), (20, 30)), ((100, 9), (7, 3))])
def test_fast_resizes_equal_the_references(src, dst):
    x = np.random.default_rng(1).random((*src, 3), dtype=np.float32)
    np.testing.assert_allclose(resize_area_fast(x, dst), resize_area(x, dst), rtol=0, atol=1e-5)
    np.testing.assert_allclose(resize_bicubic_fast(x, dst), resize_bicubic(x, dst), rtol=0, atol=1e-5)


def test_windowed_bicubic_bands_are_slices_of_the_full_resize():
    x = np.random.default_rng(4).random((13, 17, 3), dtype=np.float32)
    full = resize_bicubic_fast(x, (300, 40))
    bands = list(bicubic_bands(x, (300, 40), window=(5, 7, 290, 31), band_rows=64))
    assert [row for row, _ in bands] == [5, 69, 133, 197, 261]
    assert np.array_equal(np.concatenate([b for _, b in bands]), full[5:290, 7:31])


def test_fast_area_reads_uint8_as_unit_floats():
    x = np.random.default_rng(2).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    expected = resize_area(x.astype(np.float32) / 255, (9, 7))
    np.testing.assert_allclose(resize_area_fast(x, (9, 7)), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("radius", [1, 2, 4])
def test_erode_square_equals_erosion2d(radius):
    mask = np.random.default_rng(3).random((40, 50)) > 0.15
    mask[:10, :12] = True  # touches the border: out-of-image taps are ignored, not eroding
    reference = erosion2d(mask[:, :, None].astype(np.float32), 2 * radius + 1)[:, :, 0] > 0.5
    repeated = mask[:, :, None].astype(np.float32)
    for _ in range(radius):
        repeated = erosion2d(repeated, 3)
    assert np.array_equal(erode_square(mask, radius), reference)
    assert np.array_equal(reference, repeated[:, :, 0] > 0.5)


# --------------------------------------------------------------------------- geometry
def test_crop_box_grows_by_margin_and_shifts_inward_at_edges():
    assert crop_box((500, 600, 700, 900), 128, (1200, 1600)) == (372, 472, 828, 1028)
    assert crop_box((0, 0, 50, 60), 128, (1200, 1600)) == (0, 0, 306, 316)
    assert crop_box((1150, 1550, 1200, 1600), 128, (1200, 1600)) == (894, 1294, 1200, 1600)
    assert crop_box((10, 10, 90, 90), 128, (100, 100)) == (0, 0, 100, 100)


def test_outer_components_put_a_dot_inside_a_ring_into_the_ring():
    mask = _disk((200, 200), 100, 100, 60) & ~_disk((200, 200), 100, 100, 40)
    mask[100, 100] = True
    mask[10:14, 10:14] = True
    labels, boxes = outer_components(mask)
    assert sorted(boxes) == [(10, 10, 14, 14), (40, 40, 161, 161)]
    assert labels[100, 100] == labels[40, 100] != 0


def test_merge_regions_joins_near_components_only():
    regions = merge_regions([(100, 100, 120, 120), (130, 130, 150, 150), (600, 600, 620, 620)], (800, 800))
    assert sorted(box for box, _ in regions) == [(100, 100, 150, 150), (600, 600, 620, 620)]
    (_, a), (_, b) = regions
    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]  # context boxes are disjoint


# --------------------------------------------------------------------------- strategies
@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_every_strategy_fills_the_mask_and_keeps_the_rest(strategy):
    image = _photo(300, 400)
    mask = _blob_and_strokes(image.shape[:2], 0.08)
    image[mask] = SENTINEL
    inpaint = DiffusionInpaint()
    out = remove_object(image, mask, inpaint, strategy=strategy, model_size=(96, 128))
    _assert_removed(image, mask, out)
    assert inpaint.shapes


@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_empty_mask_returns_a_copy_without_calling_the_model(strategy):
    image = _photo(64, 80)
    inpaint = DiffusionInpaint()
    out = remove_object(image, np.zeros((64, 80), bool), inpaint, strategy=strategy)
    assert np.array_equal(out, image) and out is not image and not inpaint.shapes


def test_bad_arguments_are_input_errors():
    image = _photo(64, 80)
    with pytest.raises(InputError, match="unknown high-resolution strategy"):
        remove_object(image, np.ones((64, 80), bool), DiffusionInpaint(), strategy="magic")
    with pytest.raises(InputError, match="whole image"):
        remove_object(image, np.ones((64, 80), bool), DiffusionInpaint())
    with pytest.raises(InputError, match="does not match"):
        remove_object(image, np.ones((60, 80), bool), DiffusionInpaint())


@pytest.mark.parametrize("strategy", ["shrink", "two-step", "both"])
def test_region_strategies_call_the_model_at_most_at_twice_model_size(strategy):
    image = _photo(1200, 1600)
    mask = _blob_and_strokes(image.shape[:2], 0.15)
    inpaint = DiffusionInpaint()
    remove_object(image, mask, inpaint, strategy=strategy, model_size=MODEL)
    limit = MODEL if strategy == "shrink" else (2 * MODEL[0], 2 * MODEL[1])
    assert all(h <= limit[0] and w <= limit[1] for h, w in inpaint.shapes)
    if strategy != "shrink":
        assert max(max(s) for s in inpaint.shapes) > max(MODEL)  # the refinement ran above model size


def test_crop_inpaints_at_crop_size():
    image = _photo(1200, 1600)
    mask = np.zeros((1200, 1600), bool)
    mask[500:700, 600:900] = True
    mask[0:50, 0:60] = True
    inpaint = DiffusionInpaint()
    out = remove_object(image, mask, inpaint, strategy="crop")
    assert sorted(inpaint.shapes) == [(306, 316), (456, 556)]
    _assert_removed(image, mask, out)


def test_whole_photo_strategies_call_once_at_their_size():
    image, mask = _photo(1600, 2000), np.zeros((1600, 2000), bool)
    mask[700:800, 900:1000] = True
    for strategy, size in [("none", (256, 320)), ("resize", (1024, 1280))]:
        inpaint = DiffusionInpaint()
        remove_object(image, mask, inpaint, strategy=strategy, model_size=(256, 320))
        assert inpaint.shapes == [size]


def test_shrink_fill_fills_rings_inwards_and_feathers_them_without_seams():
    hole = _disk((120, 120), 60, 60, 40)
    image = np.full((120, 120, 3), 0.5, np.float32)
    calls: list[np.ndarray] = []

    def numbered(img: np.ndarray, m: np.ndarray) -> np.ndarray:  # step k fills with k / 100
        calls.append(m > 0.5)
        return np.full_like(img, len(calls) / 100)

    filled = shrink_fill(image, hole, numbered)
    assert 4 <= len(calls) <= 8 and np.array_equal(calls[0], hole)
    for k, current in enumerate(calls):
        following = calls[k + 1] if k + 1 < len(calls) else np.zeros_like(hole)
        assert (following <= current).all()
        ring = filled[current & ~following]
        if k == 0:  # the outermost ring is the first step's fill
            assert np.all(ring == np.float32(0.01))
        else:  # later rings blend their own fill into the earlier steps', never beyond either
            assert ring.min() >= 0.01 - 1e-6 and ring.max() <= (k + 1) / 100 + 1e-6
    assert np.all(filled[~hole] == 0.5)
    ray = filled[60, 21:61, 0]  # from the hole's left edge to its centre
    assert np.all(np.diff(ray) >= -1e-6) and ray[-1] > 0.03  # rises smoothly towards the later steps
    inside = hole[:, 1:] & hole[:, :-1]
    jumps = np.abs(np.diff(filled[..., 0], axis=1))[inside]
    assert jumps.max() < 0.004  # hard-cut rings would jump by a whole step (0.01) at every seam


def test_two_step_keeps_step_one_inside_and_redoes_the_margin():
    image = np.full((1024, 1024, 3), 128, np.uint8)
    mask = _disk((1024, 1024), 512, 512, 100)  # box 400 px: step 1 at 256, step 2 at full res
    values = iter([0.2, 0.8])

    def constant(img: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.full_like(img, next(values))

    out = remove_object(image, mask, constant, strategy="two-step", model_size=MODEL)
    assert (out[512, 512] == 51).all()  # interior: the upscaled step-1 fill
    assert (out[512, 413] == 204).all() and (out[512, 612] == 204).all()  # margin: step 2
    assert np.array_equal(out[~mask], image[~mask])


def test_a_12_megapixel_photo_with_both(capsys):
    image = _photo(3024, 4032)
    mask = _blob_and_strokes(image.shape[:2], 0.15)
    image[mask] = SENTINEL
    inpaint = DiffusionInpaint()
    start = time.perf_counter()
    out = remove_object(image, mask, inpaint, strategy="both", model_size=MODEL)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n`both` on 4032x3024, {mask.mean():.1%} masked: {elapsed:.1f} s, {len(inpaint.shapes)} inpaint calls")
    _assert_removed(image, mask, out)
    assert all(h <= 2 * MODEL[0] and w <= 2 * MODEL[1] for h, w in inpaint.shapes)


# --------------------------------------------------------------------------- check_mask
def test_check_mask_accepts_binary_masks():
    for values in (np.array([[0, 255], [0, 0]], np.uint8), np.array([[0, 1], [0, 0]], np.uint8),
                   np.array([[False, True], [False, False]])):
        hole, notes = check_mask(values, (2, 2, 3), "m.png")
        assert hole.tolist() == [[False, True], [False, False]] and notes == []
    hole, _ = check_mask(np.array([[[0], [255]], [[0], [0]]], np.uint8), (2, 2), "m.png")
    assert hole.tolist() == [[False, True], [False, False]]


def test_check_mask_thresholds_grey_masks_with_a_note():
    hole, notes = check_mask(np.array([[0, 127], [128, 255]], np.uint8), (2, 2, 3), "m.png")
    assert hole.tolist() == [[False, False], [True, True]]
    assert len(notes) == 1 and "not binary" in notes[0] and "m.png" in notes[0]
    hole, _ = check_mask(np.array([[0.0, 0.4], [0.6, 1.0]], np.float32), (2, 2), "m.png")
    assert hole.tolist() == [[False, False], [True, True]]


def test_check_mask_refuses_wrong_sizes_and_full_masks():
    with pytest.raises(InputError, match=r"m\.png is 3x2 px but the image is 4x5 px"):
        check_mask(np.zeros((2, 3), np.uint8), (5, 4, 3), "m.png")
    with pytest.raises(InputError, match="covers the whole image: nothing is left to fill it from"):
        check_mask(np.full((4, 4), 255, np.uint8), (4, 4, 3), "m.png")


def test_check_mask_notes_an_empty_mask():
    hole, notes = check_mask(np.zeros((4, 4), np.uint8), (4, 4, 3), "m.png")
    assert not hole.any() and notes == ["empty mask: the photo is returned unchanged"]
