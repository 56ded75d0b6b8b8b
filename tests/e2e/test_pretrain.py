"""A model set's models trained side by side in processes land in the training cache with the
weights an in-process training gives."""
from __future__ import annotations

import numpy as np

from conftest import REPO


def test_side_by_side_training_fills_the_cache_with_the_in_process_weights(tmp_path, monkeypatch):
    from mobilekit.core import cache
    from mobilekit.core.config import load_config
    from mobilekit.core.progress import SilentReporter
    from mobilekit.nn.loading import load_keras_model
    from mobilekit.pipeline import pretrain as side_by_side
    from mobilekit.train.trainer import train, training_key

    monkeypatch.setenv("MOBILEKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MOBILEKIT_TRAIN_JOBS", "2")
    monkeypatch.setattr(side_by_side, "MIN_STEPS", 0)  # the tiny schedules would not repay a process otherwise
    configs = [load_config(REPO / "configs" / name)[0] for name in ("segmentation-tiny.yaml", "inpainting-tiny.yaml")]

    trained = side_by_side.pretrain(configs, tmp_path / "work", SilentReporter())
    assert sorted(trained) == sorted(c.bundle.name for c in configs)
    entries = [cache.cached_dir("train", training_key(c)) for c in configs]
    assert all(entries), entries
    assert side_by_side.pretrain(configs, tmp_path / "work", SilentReporter()) == []  # all cached: nothing to do

    monkeypatch.setenv("MOBILEKIT_NO_CACHE", "1")
    here = train(configs[0], tmp_path / "in-process")
    ours = load_keras_model(here.model_path).get_weights()
    theirs = load_keras_model(entries[0] / "model.keras").get_weights()
    assert len(ours) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(ours, theirs))
