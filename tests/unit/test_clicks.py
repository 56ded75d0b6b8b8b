"""Click maps, training-click simulation (Xu et al. 2016) and the evaluation click protocol."""
import math

import numpy as np
import pytest
from scipy import ndimage

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.clicks import (
    Click,
    ClickSampling,
    encode_click_maps,
    next_click,
    normalize_click_maps,
    simulate_training_clicks,
)

# ---------------------------------------------------------------- encode_click_maps


def test_single_click_distances_by_hand():
    maps = encode_click_maps([Click(1, 2, True)], 4, 5)
    assert maps.shape == (4, 5, 2) and maps.dtype == np.float32
    assert maps[1, 2, 0] == 0.0
    assert maps[1, 4, 0] == pytest.approx(2.0)
    assert maps[3, 4, 0] == pytest.approx(math.sqrt(8))
    assert maps[0, 0, 0] == pytest.approx(math.sqrt(5))
    assert (maps[..., 1] == 255.0).all()  # no negative click


def test_two_clicks_take_the_nearest():
    maps = encode_click_maps([Click(0, 0, True), Click(0, 4, True)], 1, 5)
    np.testing.assert_allclose(maps[0, :, 0], [0, 1, 2, 1, 0])
    maps = encode_click_maps([Click(0, 0, True), Click(0, 4, False)], 1, 5)
    np.testing.assert_allclose(maps[0, :, 0], [0, 1, 2, 3, 4])
    np.testing.assert_allclose(maps[0, :, 1], [4, 3, 2, 1, 0])


def test_no_clicks_is_truncate_everywhere():
    maps = encode_click_maps([], 3, 4)
    assert (maps == 255.0).all()
    maps = encode_click_maps([Click(2, 3, False)], 3, 4, truncate=100.0)
    assert (maps[..., 0] == 100.0).all() and maps[2, 3, 1] == 0.0


def test_click_on_image_corner():
    maps = encode_click_maps([Click(0, 0, False)], 3, 3)
    s2, s5, s8 = math.sqrt(2), math.sqrt(5), math.sqrt(8)
    np.testing.assert_allclose(maps[..., 1], [[0, 1, 2], [1, s2, s5], [2, s5, s8]], rtol=1e-6)


def test_truncation():
    maps = encode_click_maps([Click(0, 0, True)], 1, 400)
    assert maps[0, 254, 0] == 254.0 and maps[0, 255, 0] == 255.0 and maps[0, 399, 0] == 255.0
    maps = encode_click_maps([Click(0, 0, True)], 1, 5, truncate=3.0)
    np.testing.assert_allclose(maps[0, :, 0], [0, 1, 2, 3, 3])
    norm = normalize_click_maps(maps, truncate=3.0)
    assert norm.dtype == np.float32
    np.testing.assert_allclose(norm[0, :, 0], [0, 1 / 3, 2 / 3, 1, 1], rtol=1e-6)
    assert normalize_click_maps(encode_click_maps([], 2, 2)).max() == 1.0


def test_click_outside_image_is_rejected():
    with pytest.raises(InputError, match="outside"):
        encode_click_maps([Click(5, 0, True)], 5, 5)
    with pytest.raises(InputError):
        encode_click_maps([Click(-1, 0, True)], 5, 5)


# ---------------------------------------------------------------- simulate_training_clicks

H, W = 128, 160
ONE = dict(reference_size=128)  # distances in px at this image size (scale 1)


def _scene():
    yy, xx = np.mgrid[:H, :W]
    target = (yy - 64) ** 2 + (xx - 60) ** 2 <= 30**2  # disc, radius 30
    other = np.zeros((H, W), bool)
    other[10:40, 110:150] = True
    return target, [other]


def _pairwise_min(points):
    pts = np.array(points, float)
    if len(pts) < 2:
        return np.inf
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    return d[np.triu_indices(len(pts), 1)].min()


def test_simulated_clicks_respect_margin_spacing_and_polarity():
    target, others = _scene()
    s = ClickSampling(**ONE)
    inside = ndimage.distance_transform_edt(target)
    outside = ndimage.distance_transform_edt(~target)
    n_pos_seen = set()
    for seed in range(25):
        clicks = simulate_training_clicks(target, others, np.random.default_rng(seed), s)
        pos = [(c.y, c.x) for c in clicks if c.positive]
        neg = [(c.y, c.x) for c in clicks if not c.positive]
        assert 1 <= len(pos) <= s.max_positive
        n_pos_seen.add(len(pos))
        assert all(target[p] and inside[p] >= s.margin for p in pos)
        assert _pairwise_min(pos) >= s.spacing
        assert all(not target[p] and outside[p] >= s.margin for p in neg)
        assert _pairwise_min(neg) >= s.spacing
        assert clicks[: len(pos)] == [Click(y, x, True) for y, x in pos]  # positives first
    assert len(n_pos_seen) >= 3  # counts are random in [1, max_positive]


def test_band_strategy_stays_in_band():
    target, _ = _scene()
    s = ClickSampling(max_negative_band=4, max_negative_anywhere=0, max_negative_objects=0, **ONE)
    outside = ndimage.distance_transform_edt(~target)
    total = 0
    for seed in range(15):
        neg = [c for c in simulate_training_clicks(target, [], np.random.default_rng(seed), s) if not c.positive]
        assert all(s.margin <= outside[c.y, c.x] <= s.band for c in neg)
        total += len(neg)
    assert total > 0


def test_other_object_strategy_lands_on_other_objects():
    target, others = _scene()
    s = ClickSampling(max_negative_band=0, max_negative_anywhere=0, max_negative_objects=3, **ONE)
    total = 0
    for seed in range(15):
        neg = [c for c in simulate_training_clicks(target, others, np.random.default_rng(seed), s) if not c.positive]
        assert all(others[0][c.y, c.x] for c in neg)
        total += len(neg)
    assert total > 0


def test_other_object_overlapping_target_never_gives_clicks_on_target():
    target, _ = _scene()
    other = np.zeros_like(target)
    other[40:90, 40:120] = True  # overlaps the disc
    s = ClickSampling(max_negative_band=0, max_negative_anywhere=0, max_negative_objects=3, **ONE)
    outside = ndimage.distance_transform_edt(~target)
    for seed in range(10):
        neg = [c for c in simulate_training_clicks(target, [other], np.random.default_rng(seed), s) if not c.positive]
        assert all(other[c.y, c.x] and outside[c.y, c.x] >= s.margin for c in neg)


def test_boundary_covering_strategy():
    target, _ = _scene()
    s = ClickSampling(
        max_negative_band=0, max_negative_anywhere=0, max_negative_objects=0, max_negative_boundary=6, **ONE
    )
    outside = ndimage.distance_transform_edt(~target)
    neg = [c for c in simulate_training_clicks(target, [], np.random.default_rng(0), s) if not c.positive]
    assert len(neg) == 6
    assert all(s.margin <= outside[c.y, c.x] <= s.band for c in neg)
    assert _pairwise_min([(c.y, c.x) for c in neg]) >= s.spacing
    angles = sorted(math.atan2(c.y - 64, c.x - 60) for c in neg)  # spread around the object
    gaps = np.diff(angles + [angles[0] + 2 * math.pi])
    assert gaps.max() < math.pi


def test_thin_target_still_gets_a_positive_click():
    target = np.zeros((64, 64), bool)
    target[30, 5:60] = True  # 1 px wide: nothing lies 5 px inside
    clicks = simulate_training_clicks(target, [], np.random.default_rng(0), ClickSampling(reference_size=64))
    pos = [c for c in clicks if c.positive]
    assert pos and all(target[c.y, c.x] for c in pos)


def test_strategies_without_valid_pixels_are_skipped():
    target = np.ones((32, 32), bool)  # no background at all
    target[0, 0] = False
    clicks = simulate_training_clicks(target, [], np.random.default_rng(1), ClickSampling(reference_size=32))
    assert clicks and all(c.positive for c in clicks)


def test_empty_target_and_bad_shapes_are_input_errors():
    with pytest.raises(InputError, match="empty"):
        simulate_training_clicks(np.zeros((8, 8), bool), [], np.random.default_rng(0), ClickSampling())
    with pytest.raises(InputError, match="shape"):
        simulate_training_clicks(np.ones((8, 8), bool), [np.ones((4, 4), bool)], np.random.default_rng(0), ClickSampling())
    with pytest.raises(InputError):
        ClickSampling(max_positive=0)


def test_deterministic_for_a_seed():
    target, others = _scene()
    s = ClickSampling(max_negative_boundary=3)
    a = simulate_training_clicks(target, others, np.random.default_rng(7), s)
    b = simulate_training_clicks(target, others, np.random.default_rng(7), s)
    c = simulate_training_clicks(target, others, np.random.default_rng(8), s)
    assert a == b and a != c


def test_scaling_with_image_size():
    s = ClickSampling().scaled(640, 960)
    assert (s.margin, s.spacing, s.band, s.reference_size) == (10.0, 20.0, 80.0, 640)
    assert s.scaled(640, 960) == s  # idempotent
    assert s.max_positive == ClickSampling().max_positive


# ---------------------------------------------------------------- next_click


def test_empty_prediction_of_a_square_clicks_its_centre():
    target = np.zeros((21, 21), bool)
    target[5:16, 5:16] = True
    assert next_click(np.zeros_like(target), target) == Click(10, 10, True)


def test_false_positive_blob_gets_a_negative_click_at_its_centre():
    target = np.zeros((40, 40), bool)
    target[2:7, 2:7] = True
    pred = target.copy()
    pred[27:34, 17:24] = True  # 7x7 false positive centred at (30, 20)
    assert next_click(pred, target) == Click(30, 20, False)


def test_largest_error_region_wins():
    target = np.zeros((40, 40), bool)
    target[2:5, 2:5] = True  # missed 3x3 (false negative)
    pred = np.zeros_like(target)
    pred[20:25, 20:25] = True  # 5x5 false positive: larger
    assert next_click(pred, target) == Click(22, 22, False)
    pred[20:25, 20:25] = False
    pred[20:22, 20:22] = True  # 2x2 false positive: now the miss is larger
    assert next_click(pred, target) == Click(3, 3, True)


def test_image_border_counts_as_boundary():
    target = np.zeros((9, 20), bool)
    target[:, :5] = True  # touches the top, bottom and left image borders
    assert next_click(np.zeros_like(target), target) == Click(4, 2, True)


def test_perfect_prediction_gives_no_click():
    target = np.zeros((8, 8), bool)
    target[2:5, 2:5] = True
    assert next_click(target.copy(), target) is None
    with pytest.raises(InputError):
        next_click(np.zeros((8, 9), bool), target)
