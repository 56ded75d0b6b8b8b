"""Pretrained encoder weights: a local MobileNetV2 weights file, pinned by sha256, initializes the
split-mnv2 encoder; a missing file, a wrong sha256 or a preset without that encoder is refused at
config load (exit 2, naming the field)."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import yaml

from conftest import REPO


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    reference = keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False, alpha=1.0, weights=None)
    rng = np.random.default_rng(0)  # weights no fresh initialization could give
    reference.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in reference.get_weights()])
    path = tmp_path_factory.mktemp("weights") / "mnv2.h5"
    reference.save_weights(str(path))
    return path, reference


def _config(tmp_path, preset: str, pretrained: dict):
    data = yaml.safe_load((REPO / "configs" / "segmentation-split-tiny.yaml").read_text())
    data["preset"] = preset
    data["segmentation"] = {"pretrained": pretrained}
    path = tmp_path / "pretrained.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_pinned_local_file_initializes_the_encoder(tmp_path, weights_file):
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family

    path, reference = weights_file
    config, _ = load_config(_config(tmp_path, "split-mnv2", {"weights": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}))
    model = get_family("segmentation").build_model(config)
    for name in ("Conv1", "block_5_expand", "block_12_project"):
        for ours, theirs in zip(model.get_layer(name).get_weights(), reference.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    data = yaml.safe_load((REPO / "configs" / "segmentation-split-tiny.yaml").read_text())
    data["preset"] = "split-mnv2"
    (tmp_path / "fresh.yaml").write_text(yaml.safe_dump(data))
    fresh = get_family("segmentation").build_model(load_config(tmp_path / "fresh.yaml")[0])
    assert not np.array_equal(fresh.get_layer("Conv1").get_weights()[0], reference.get_layer("Conv1").get_weights()[0])


@pytest.mark.parametrize("preset,pretrained,field", [
    ("split-mnv2", {"weights": "MISSING", "sha256": "0" * 64}, "segmentation.pretrained.weights"),
    ("split-mnv2", {"weights": "FILE", "sha256": "0" * 64}, "segmentation.pretrained.sha256"),
    ("split-mnv2", {"weights": "FILE"}, "segmentation.pretrained.sha256"),
    ("split-tiny", {"weights": "imagenet"}, "segmentation.pretrained"),
    ("tiny", {"weights": "imagenet"}, "segmentation.pretrained"),
])
def test_bad_pretrained_settings_are_refused_at_load(tmp_path, weights_file, preset, pretrained, field):
    from mobilekit.core.config import load_config
    from mobilekit.core.errors import ConfigError

    path, _ = weights_file
    pretrained = {k: {"MISSING": str(tmp_path / "none.h5"), "FILE": str(path)}.get(v, v) for k, v in pretrained.items()}
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path, preset, pretrained))
    message = str(info.value)
    assert "pretrained.yaml" in message and field in message, message
