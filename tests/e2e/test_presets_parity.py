"""Every segmentation preset converts to Core ML and TFLite with fp32 parity ≤ 1e-4 (issue 3).

Weights are randomly initialised with BatchNorm statistics set from data (conversion parity does
not depend on training); reduced CI mode checks `small`, the full run also `base`."""
from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from conftest import TINY

PRESETS = ["small"] if os.environ.get("MOBILEKIT_SLOW_REDUCED") else ["small", "base"]
PARAM_BOUNDS = {"small": (0, 1_000_000), "base": (3_000_000, 6_000_000)}


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_preset_converts_with_fp32_parity(preset, tmp_path):
    from mobilekit.core.config import parse_config
    from mobilekit.core.fsio import disk_bytes
    from mobilekit.core.tf import seed_everything
    from mobilekit.core.family import get_family
    from mobilekit.convert.context import ModelContext, reference_outputs
    from mobilekit.convert.request import convert_artifact
    from mobilekit.parity.verify import verify_artifact

    data = yaml.safe_load(TINY.read_text())
    data["preset"] = preset
    data["data"]["image_size"] = [96, 96]
    data["targets"] = {"coreml": {"compute_precision": "fp32"}, "tflite": {"precision": "fp32"}}
    config = parse_config(data, "test")
    family = get_family("segmentation")
    seed_everything(0)
    model = family.build_model(config)
    low, high = PARAM_BOUNDS[preset]
    assert low <= model.count_params() <= high
    split = family.make_split(config, "parity")
    model(split.inputs, training=True)  # BatchNorm statistics from data, so outputs are not degenerate
    ctx = ModelContext(model, family.io(config), tmp_path / "m.keras", config, family)
    reference = reference_outputs(ctx, split.inputs)
    assert np.ptp(reference["mask"]) > 1e-3
    for target in ("tflite", "coreml"):
        artifact = convert_artifact(ctx, target, tmp_path / target)
        result = verify_artifact(ctx, artifact.path, "fp32", split.inputs, reference)
        assert result.status == "passed", result.checks
        assert result.outputs[0].max_abs <= 1e-4
        size = disk_bytes(artifact.path)
        print(f"{preset} {target}: params {model.count_params()}, {size} bytes, max_abs {result.outputs[0].max_abs:.2e}")
