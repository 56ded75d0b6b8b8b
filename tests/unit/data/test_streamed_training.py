"""Training streamed from the dataset cache (`data.stream: true`): an epoch covers every example once
(the hook pool mixed back in), the hook pool carries the family's extras, and a tiny model trains
end to end with iterative click training on the pool."""
from __future__ import annotations

import json

import numpy as np

from mobilekit.core.config import parse_config
from mobilekit.core.family import get_family


def _config(tmp_path, **data):
    return parse_config({"family": "segmentation", "preset": "tiny", "seed": 2,
                         "data": {"image_size": [32, 32], "train_samples": 20, "val_samples": 4, "parity_samples": 2,
                                  "stream": True, "cache_dir": str(tmp_path / "cache"), "shuffle_buffer": 8, **data},
                         "training": {"epochs": 3, "batch_size": 4, "checkpoints": False},
                         "bundle": {"name": "stream-test", "version": "0.1.0"}}, "test")


def test_an_epoch_streams_every_example_once_with_the_pool_mixed_in(tmp_path):
    from mobilekit.train.streaming import StreamedTrainSplit

    config = _config(tmp_path, hook_pool=5, shard_examples=4)  # the pool: 2 of 5 shards
    family = get_family("segmentation")
    expected = family.make_split(config, "train")
    with StreamedTrainSplit(family, config) as stream:
        assert len(stream) == 20 and len(stream.pool) == 8 and len(stream.pool.extras["clicks"]) == 8
        assert all(clicks and clicks[0].positive for clicks in stream.pool.extras["clicks"])
        for epoch in (0, 1):
            batches = list(stream.epoch_dataset(epoch))
            masks = np.concatenate([targets["mask"].numpy() for _, targets in batches])
            images = np.concatenate([inputs["image"].numpy() for inputs, _ in batches])
            assert sorted(masks.sum(axis=(1, 2, 3)).tolist()) == sorted(expected.targets["mask"].sum(axis=(1, 2, 3)).tolist())
            assert sorted(images.sum(axis=(1, 2, 3)).round(3).tolist()) == sorted(expected.inputs["image"].sum(axis=(1, 2, 3)).round(3).tolist())


def test_streamed_training_runs_the_click_hook_on_the_pool(tmp_path, monkeypatch):
    from mobilekit.data.cache.store import DatasetStore
    from mobilekit.train.trainer import train

    monkeypatch.setenv("MOBILEKIT_NO_CACHE", "1")
    seen = []
    family = get_family("segmentation")
    monkeypatch.setattr(type(family), "epoch_hooks", lambda self, cfg: (lambda predict, split, epoch, rng: seen.append((epoch, len(split))),))
    result = train(_config(tmp_path, hook_pool=6, shard_examples=6), tmp_path / "run")
    assert np.isfinite(result.final_loss) and seen == [(0, 6), (1, 6)]
    (entry,) = DatasetStore(tmp_path / "cache").entries()
    assert entry.state == "ready" and entry.index["count"] == 20 and entry.last_used is not None
    assert json.loads((tmp_path / "run" / "model.json").read_text())["config"]["data"]["stream"] is True
