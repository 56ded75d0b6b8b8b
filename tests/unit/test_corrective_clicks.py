import numpy as np
import pytest

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.clicks import next_click, perturbed_prediction, simulate_corrective_clicks


def _square(size=48):
    mask = np.zeros((size, size), bool)
    mask[12:36, 10:30] = True
    return mask


def test_first_click_is_the_protocol_click_and_corrections_match_polarity():
    target = _square()
    rng = np.random.default_rng(1)
    for _ in range(20):
        clicks = simulate_corrective_clicks(target, rng, max_corrections=3)
        assert clicks[0] == next_click(np.zeros_like(target), target)
        assert 1 <= len(clicks) <= 4
        for click in clicks[1:]:
            assert click.positive == bool(target[click.y, click.x])  # positive on missed object, negative on false positives


def test_perturbation_is_deterministic_for_a_seed_and_differs_from_target():
    target = _square()
    a = perturbed_prediction(target, np.random.default_rng(5))
    b = perturbed_prediction(target, np.random.default_rng(5))
    assert np.array_equal(a, b) and not np.array_equal(a, target)


def test_empty_target_is_a_clear_error():
    with pytest.raises(InputError, match="empty"):
        simulate_corrective_clicks(np.zeros((8, 8), bool), np.random.default_rng(0))
