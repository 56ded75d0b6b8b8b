"""Same config + seed → the same trained weights, also where TensorFlow's graph rewrites used to
race: the depth `small` preset shares its extractor features between two heads, so the gradient
of a feature is a sum of three or more parts, whose order Grappler's rewrites left to timing
(weights differed by ~1e-2 after 16 steps in every pair of runs before `seed_everything` turned
those rewrites off)."""
from __future__ import annotations

import numpy as np
import pytest

from mobilekit.core.config import default_config_path, load_config


def _weights(config, out):
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.train.trainer import train

    _, keras = tf_and_keras()
    result = train(config, out)
    assert not result.cached
    return keras.models.load_model(result.model_path, compile=False).get_weights()


def test_depth_small_trains_to_identical_weights_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEKIT_NO_CACHE", "1")
    config, _ = load_config(default_config_path("depth"))
    assert config.preset == "small"
    config = config.model_copy(update={
        "data": config.data.model_copy(update={"train_samples": 128}),
        "training": config.training.model_copy(update={"epochs": 1, "checkpoints": False, "batchnorm_recalibration": 2}),
    })
    first = _weights(config, tmp_path / "a")
    second = _weights(config, tmp_path / "b")
    assert len(first) == len(second)
    different = [i for i, (a, b) in enumerate(zip(first, second)) if not np.array_equal(a, b)]
    assert not different, f"{len(different)} of {len(first)} weight tensors differ (max {max(float(np.max(np.abs(first[i] - second[i]))) for i in different):.2e})"
