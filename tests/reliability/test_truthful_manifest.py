"""Manifests say what really happened and what each artifact really takes: a Core ML image input is
8-bit pixels with its color layout, a TFLite input a normalized float tensor; a gate passed by an
emulating runner (the MIL executor, off macOS) is listed and leaves parity_complete false."""
from __future__ import annotations

from pathlib import Path

import pytest

from mobilekit.convert.artifact_io import artifact_io
from mobilekit.convert.context import ModelContext
from mobilekit.convert.request import convert_artifact, convert_request
from mobilekit.core.tensors import ModelIO, TensorInfo
from mobilekit.core.tf import tf_and_keras
from mobilekit.parity.runners.base import RUNNERS, emulation_of
from mobilekit.pipeline.package import Outcome

tf, keras = tf_and_keras()
SCALE = 1 / 255


@pytest.fixture(scope="module")
def ctx():
    image = keras.Input((8, 8, 3), name="image")
    model = keras.Model(image, keras.layers.Conv2D(2, 3, padding="same", name="score")(image))
    io = ModelIO((TensorInfo("image", (1, 8, 8, 3), "photo", kind="image", color_layout="RGB",
                             normalization={"scale": SCALE, "bias": 0.0, "mean": [0.0] * 3, "std": [255.0] * 3}),),
                 (TensorInfo("score", (1, 8, 8, 2), "scores"),))
    return ModelContext(model, io, Path("truth.keras"))


def test_only_the_mil_executor_emulates():
    assert emulation_of("mil-executor") and "did not run" in emulation_of("mil-executor")
    assert emulation_of("mil-executor:pre-backend+kernel-references")
    for name in ("litert", "litert-builtin", "onnxruntime", "coreml-macos", "coreml-macos-ne"):
        assert emulation_of(name) is None, name
    assert all(RUNNERS.get(n).emulates is None for n in RUNNERS if not n.startswith("mil"))


def test_outcome_lists_emulated_gates_apart_from_unverified_ones():
    outcome = Outcome({"ios/m.mlpackage": {"status": "passed", "runner": "mil-executor"},
                       "android/m.tflite": {"status": "passed", "runner": "litert"},
                       "ios/x.mlpackage": {"status": "not_run", "runner": "none"}})
    assert outcome.emulated == ["ios/m.mlpackage"] and outcome.not_verified == ["ios/x.mlpackage"] and not outcome.failed


def test_coreml_artifact_io_is_pixels_with_its_color_layout(ctx, tmp_path):
    artifact = convert_artifact(ctx, "coreml", tmp_path, convert_request(ctx, "coreml", precision="fp32"))
    io = artifact_io("coreml", artifact.path, ctx.io)
    (image,) = io["inputs"]
    assert image == {"name": "image", "as": "image", "pixels": "8-bit per channel", "pixel_range": [0, 255], "color_layout": "RGB",
                     "width": 8, "height": 8, "scale": SCALE, "bias": 0.0, "model_computes": "value = pixel × scale + bias"}
    assert io["outputs"] == [{"name": "score", "as": "multiarray", "dtype": "float32", "shape": [1, 8, 8, 2]}]


@pytest.mark.parametrize("target", ["tflite", "onnx"])
def test_float_targets_take_normalized_tensors(ctx, target, tmp_path):
    artifact = convert_artifact(ctx, target, tmp_path, convert_request(ctx, target))
    io = artifact_io(target, artifact.path, ctx.io)
    (image,) = io["inputs"]
    assert image["as"] == "tensor" and image["dtype"] == "float32" and image["shape"] == [1, 8, 8, 3]
    assert "normalized" in image["expects"] and "quantization" not in image
