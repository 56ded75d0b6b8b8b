"""IoU, boundary F-measure and the NoC protocol."""
import numpy as np
import pytest

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.clicks import Click
from mobilekit.families.segmentation.metrics import boundary_fscore, iou, number_of_clicks, summarize_noc


def _square(y0, x0, size, shape=(32, 32)):
    m = np.zeros(shape, bool)
    m[y0 : y0 + size, x0 : x0 + size] = True
    return m


def test_iou_by_hand():
    pred = np.zeros((4, 4), bool)
    pred[0:2, 0:2] = True  # 4 px
    target = np.zeros((4, 4), bool)
    target[0:2, 0:3] = True  # 6 px, contains pred
    assert iou(pred, target) == pytest.approx(4 / 6)
    assert iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 1.0
    assert iou(np.zeros((3, 3), bool), np.ones((3, 3), bool)) == 0.0
    with pytest.raises(InputError, match="shape"):
        iou(np.zeros((3, 3), bool), np.zeros((3, 4), bool))


def test_boundary_fscore():
    t = _square(8, 8, 12)
    assert boundary_fscore(t, t) == 1.0
    assert boundary_fscore(_square(9, 8, 12), t, tolerance=2) == 1.0  # 1 px shift within tolerance
    shifted = boundary_fscore(_square(14, 8, 12), t, tolerance=1)
    assert 0.0 < shifted < 0.5  # only the side edges stay close
    assert boundary_fscore(np.zeros_like(t), np.zeros_like(t)) == 1.0
    assert boundary_fscore(np.zeros_like(t), t) == 0.0
    # a mask filling the image has no boundary (the image border is not one)
    full = np.ones((16, 16), bool)
    assert boundary_fscore(full, full) == 1.0


def test_boundary_fscore_tolerance_zero_by_hand():
    t = np.zeros((5, 5), bool)
    t[1:4, 1:4] = True  # boundary: the 8 ring pixels around (2, 2)
    p = t.copy()
    p[0, 2] = True  # (0, 2) joins the boundary, (1, 2) leaves it: 7 of 8 pixels shared each way
    assert boundary_fscore(p, t, tolerance=0) == pytest.approx(7 / 8)
    assert boundary_fscore(p, t, tolerance=1) == 1.0


def _predict_target_after(target, k, calls):
    def predict(clicks):
        calls.append(list(clicks))
        return target.astype(np.float32) if len(clicks) >= k else np.zeros(target.shape, np.float32)

    return predict


@pytest.mark.parametrize("k", [1, 3, 7])
def test_noc_of_a_predictor_that_is_right_after_k_clicks(k):
    target = _square(10, 10, 11)
    calls = []
    assert number_of_clicks(_predict_target_after(target, k, calls), target) == {0.85: k, 0.90: k}
    assert len(calls) == k  # stops once every threshold is met
    assert calls[0] == [Click(15, 15, True)]  # first click: centre of the missed object


def test_noc_thresholds_reached_at_different_counts_and_cap():
    target = _square(0, 0, 10, (10, 10))  # 100 px
    partial = target.copy()
    partial[:, 9] = False
    partial[:3, 8] = False  # IoU 0.87

    def predict(clicks):
        n = len(clicks)
        return (target if n >= 4 else partial if n >= 2 else np.zeros_like(target)).astype(float)

    assert number_of_clicks(predict, target) == {0.85: 2, 0.90: 4}

    calls = []
    never = number_of_clicks(_predict_target_after(target, 99, calls), target, max_clicks=5)
    assert never == {0.85: 5, 0.90: 5} and len(calls) == 5


def test_noc_uses_threshold_prob_and_checks_shapes():
    target = _square(4, 4, 8, (16, 16))
    half = np.where(target, 0.6, 0.0)
    assert number_of_clicks(lambda c: half, target, threshold_prob=0.5) == {0.85: 1, 0.90: 1}
    assert number_of_clicks(lambda c: half, target, threshold_prob=0.7, max_clicks=3) == {0.85: 3, 0.90: 3}
    with pytest.raises(InputError, match="shape"):
        number_of_clicks(lambda c: np.zeros((3, 3)), target)
    with pytest.raises(InputError):
        number_of_clicks(lambda c: half, np.zeros((16, 16), bool))


def test_summarize_noc():
    assert summarize_noc([{0.85: 1, 0.90: 2}, {0.85: 3, 0.90: 4}]) == {"noc85": 2.0, "noc90": 3.0}
    with pytest.raises(InputError):
        summarize_noc([])
