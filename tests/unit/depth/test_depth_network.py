"""The depth network's shape: which features the extractor exports, where the depth head stops, and
that heads run on cached features reproduce the end-to-end model."""
from __future__ import annotations

import functools

import numpy as np
import pytest

SIZE = 64


@functools.cache  # built once per preset: the tests only read and run the models
def _net(preset_name: str):
    from mobilekit.core.tf import seed_everything
    from mobilekit.families.depth.family import PRESETS
    from mobilekit.families.depth.network import build_depth_net, split_modules

    seed_everything(0)
    model = build_depth_net(SIZE, SIZE, PRESETS[preset_name])
    return model, *split_modules(model)


@pytest.mark.parametrize("preset_name, features", [
    ("small", ["feat4", "feat8", "feat16", "feat32"]),  # its depth head stops at 1/4: nothing reads feat2
    ("tiny", ["feat2", "feat4", "feat8", "feat16", "feat32"]),
])
def test_extractor_exports_the_features_its_heads_read(preset_name, features):
    model, extractor, depth_head, portrait_head = _net(preset_name)
    assert sorted(extractor.output) == sorted(features)
    assert sorted(depth_head.input_names) == sorted(features)
    assert set(portrait_head.input_names) == {"feat4", "feat8", "feat16"}


def test_small_depth_head_does_no_work_above_quarter_resolution():
    _, _, depth_head, _ = _net("small")
    finest = {layer.name: int(layer.output.shape[1]) for layer in depth_head.layers if layer.output.shape.rank == 4}
    above = {name for name, rows in finest.items() if rows > SIZE // 4}
    assert above == {"depth_up3_up", "depth"}  # only the ×4 upsampling of the 1-channel logits and the softplus
    assert depth_head.get_layer("depth_up3_up").interpolation == "bilinear"
    assert tuple(depth_head.output["depth"].shape[1:]) == (SIZE, SIZE, 1)


def test_heads_on_cached_features_match_end_to_end():
    model, extractor, depth_head, portrait_head = _net("small")
    image = np.random.default_rng(0).uniform(size=(2, SIZE, SIZE, 3)).astype(np.float32)
    whole = model.predict(image, verbose=0)
    features = extractor.predict(image, verbose=0)
    depth = depth_head.predict({n: features[n] for n in depth_head.input_names}, verbose=0)["depth"]
    portrait = portrait_head.predict({n: features[n] for n in portrait_head.input_names}, verbose=0)["portrait"]
    np.testing.assert_allclose(depth, whole["depth"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(portrait, whole["portrait"], rtol=1e-5, atol=1e-6)


def test_depth_decoder_takes_three_or_four_widths():
    from pydantic import ValidationError

    from mobilekit.families.depth.config import DepthPreset

    base = dict(stem=8, stages=[(1, 8, 1, 2)], portrait_decoder=[8, 8])
    for widths in ([8, 8, 8], [8, 8, 8, 8]):
        DepthPreset(**base, depth_decoder=widths)
    for widths in ([8, 8], [8, 8, 8, 8, 8]):
        with pytest.raises(ValidationError, match="depth_decoder"):
            DepthPreset(**base, depth_decoder=widths)
