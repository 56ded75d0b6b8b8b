"""Models whose positional input/output names no target but TensorFlow accepts (keras.applications'
RegNets name their head "1head_dense"; '-' and '.' are common too) get portable names and convert
for every target with parity."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mobilekit.convert.context import ModelContext, parity_inputs, reference_outputs
from mobilekit.convert.request import convert_artifact, convert_request
from mobilekit.core.config import Tolerance
from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.keras_io import model_io, portable_name
from mobilekit.parity.verify import verify_artifact

tf, keras = tf_and_keras()


def test_portable_name_rules():
    assert portable_name("1head_dense") == "_1head_dense"
    assert portable_name("dense-1.out") == "dense_1_out"
    assert portable_name("image") == "image"


@pytest.mark.parametrize("target", ("coreml", "tflite", "onnx"))
def test_a_model_with_unportable_names_converts_with_parity(target, tmp_path):
    inp = keras.Input((8, 8, 3), name="rgb-in")
    out = keras.layers.Dense(4, name="1head_dense")(keras.layers.Conv2D(4, 3, padding="same")(inp))
    model = keras.Model(inp, out)
    io = model_io(model)
    assert [t.name for t in io.inputs] == ["rgb_in"] and [t.name for t in io.outputs] == ["_1head_dense"]
    ctx = ModelContext(model, io, Path("names.keras"))
    inputs = parity_inputs(ctx, 2)
    artifact = convert_artifact(ctx, target, tmp_path / target, convert_request(ctx, target, precision="fp32"))
    result = verify_artifact(ctx, artifact.path, "fp32", inputs, reference_outputs(ctx, inputs), tolerance=Tolerance(min_psnr=80))
    assert result.status == "passed", result.checks
