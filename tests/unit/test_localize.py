"""First-divergent-op localization: a weight planted in one conv of a converted artifact (Core ML
program, TFLite flatbuffer) is found by name (and by position when names say nothing), in
O(log n) comparisons; clean artifacts give None."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import mobilekit  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from mobilekit.parity.localize import bisect_first_failing, first_divergent_point
from mobilekit.parity.localize.matching import _LayerNames, _match_by_position

API_KEYS = {"op_name", "op_type", "index", "of", "max_abs", "input_ranges", "fp16_overflow", "suggestion",
            "comparisons", "matched_by"}


# -- pure parts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 9, 100, 1000])
def test_bisection_finds_the_first_failing_point_in_log_comparisons(count):
    for first in range(0, count, max(1, count // 13)):
        calls = []

        def fails(i, first=first):
            calls.append(i)
            return i >= first

        assert bisect_first_failing(count, fails) == first
        assert len(calls) <= math.ceil(math.log2(count)) if count > 1 else not calls


def test_first_divergent_point_follows_the_divergence_into_side_branches():
    # 0 -> 1 -> 2 -> 3 -> ... -> 9 (main chain), 10 = side branch from 1, 11 = merge(9, 10), 12 = output
    parents = [[], [0], [1], [2], [3], [4], [5], [6], [7], [8], [1], [9, 10], [11]]
    for source in range(len(parents)):
        failing = {source}
        for i, ps in enumerate(parents):  # a failure reaches every descendant
            if any(p in failing for p in ps):
                failing.add(i)
        calls = []

        def fails(i, failing=failing):
            calls.append(i)
            return i in failing

        assert first_divergent_point(parents, fails) == source
        assert len(set(calls)) <= 2 * math.ceil(math.log2(len(parents))) + 1


def test_layer_names_from_tf_derived_tensor_names():
    names = _LayerNames("model", {"conv2d": 1, "conv2d_1": 2, "bn": 3, "relu": 4, "dense": 5})
    assert names.layer_of(["model_conv2d_1_Conv2Dx_cast_fp16"]) == "conv2d_1"  # longest layer name wins
    assert names.layer_of(["model_conv2d_BiasAdd"]) == "conv2d"
    assert names.layer_of(["model/relu/Relu;model/conv2d/Conv2D"]) == "relu"  # fused: the latest layer
    assert names.layer_of(["transpose_3", "cast_0"]) is None
    assert names.layer_of(["model_dense_MatMul", "model_bn_x"]) == "dense"
    # no model scope: the earliest layer-name component
    assert _LayerNames("other", {"bn": 1, "dense": 2}).layer_of(["functional_bn_dense_x"]) == "bn"


def test_position_matching_aligns_the_ends_of_equal_shape_runs():
    ref = [("c1", (1, 8, 8, 4)), ("bn", (1, 8, 8, 4)), ("relu", (1, 8, 8, 4)), ("pool", (1, 4, 4, 4)), ("fc", (1, 3))]
    cand = [("in_t", (1, 3, 8, 8)), ("conv", (1, 4, 8, 8)), ("act", (1, 4, 8, 8)), ("mp", (1, 4, 4, 4)),
            ("mm", (1, 3))]
    assert _match_by_position(ref, cand, channels_first=True) == {"relu": "act", "pool": "mp", "fc": "mm"}


# -- converted artifacts -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def convnet(tmp_path_factory):
    pytest.importorskip("coremltools")
    pytest.importorskip("ai_edge_litert")
    import tf_keras as keras

    from mobilekit.nn.keras_io import io_from_keras
    from mobilekit.convert.context import ModelContext, parity_inputs, reference_outputs
    from mobilekit.convert.request import convert_artifact

    keras.utils.set_random_seed(0)
    i = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="c1")(i)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="r1")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c3")(x)
    x = keras.layers.Add(name="merge")([keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c4")(x),
                                        keras.layers.Conv2D(8, 1, name="skip")(x)])  # a side branch
    x = keras.layers.MaxPool2D(name="p")(x)
    x = keras.layers.Conv2D(4, 1, name="c5")(x)
    x = keras.layers.GlobalAveragePooling2D(name="g")(x)
    model = keras.Model(i, keras.layers.Dense(3, name="out")(x))
    out = tmp_path_factory.mktemp("localize")
    ctx = ModelContext(model, io_from_keras(model), out / "convnet")
    artifacts = {t: convert_artifact(ctx, t, out) for t in ("coreml", "tflite")}
    inputs = parity_inputs(ctx, 1)
    return ctx, artifacts, inputs, reference_outputs(ctx, inputs)


def _tolerance(target, precision):
    from mobilekit.parity.tolerances import tolerance_for

    return tolerance_for(None, target, precision)


def _plant_coreml(src: Path, dst: Path, marker: str) -> None:
    """Copy the .mlpackage and set one weight of the conv named after `marker` to 25."""
    from mobilekit.parity.mil import load_program

    shutil.copytree(src, dst)
    (weight,) = [op.inputs["weight"].val for op in load_program(dst).function().operations
                 if op.op_type == "conv" and f"_{marker}_" in op.name]
    blob_path = dst / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    blob = blob_path.read_bytes()
    at = blob.find(weight.tobytes())
    assert at >= 0 and blob.find(weight.tobytes(), at + 1) < 0
    planted = weight.copy()
    planted.flat[planted.size // 2] = 25
    blob_path.write_bytes(blob[:at] + planted.tobytes() + blob[at + planted.nbytes :])


def _plant_tflite(src: Path, dst: Path, marker: str) -> None:
    """Copy the .tflite and set one weight of the CONV_2D whose output is named after `marker` to 25."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(src))
    names = {d["index"]: d["name"] for d in interp.get_tensor_details()}
    (weight,) = [interp.get_tensor(op["inputs"][1]) for op in interp._get_ops_details()
                 if op["op_name"] == "CONV_2D" and f"/{marker}/" in names[op["outputs"][0]]]
    data = src.read_bytes()
    at = data.find(weight.tobytes())
    assert at >= 0 and data.find(weight.tobytes(), at + 1) < 0
    planted = weight.copy()
    planted.flat[planted.size // 2] = 25
    dst.write_bytes(data[:at] + planted.tobytes() + data[at + planted.nbytes :])


def _check_report(div, layer: str, op_type: str) -> dict:
    from mobilekit.parity.localize import Divergence

    assert isinstance(div, Divergence)
    data = div.to_dict()
    json.dumps(data, allow_nan=False)
    assert API_KEYS <= set(data)
    assert data["layer"] == layer and data["op_type"] == op_type
    assert data["op_name"] in data["candidate_ops"]
    assert div.summary().startswith(f"first divergent op: {data['op_name']}")
    assert data["matched_by"] in ("name", "position")
    assert 0 <= data["index"] < data["of"] and data["of"] >= 4
    # one comparison for the output, then a binary search over the points
    assert data["comparisons"] <= 1 + math.ceil(math.log2(data["of"]))
    assert data["max_abs"] is not None and data["max_abs"] > 1.0
    assert data["fp16_overflow"] is False and data["suggestion"] is None
    return data


def test_clean_artifacts_have_no_divergence(convnet):
    from mobilekit.parity.localize import localize_divergence
    from mobilekit.parity.verify import verify_artifact

    ctx, artifacts, inputs, reference = convnet
    for target, artifact in artifacts.items():
        assert verify_artifact(ctx, artifact.path, artifact.precision, inputs, reference).passed
        assert localize_divergence(ctx, artifact.path, inputs, _tolerance(target, artifact.precision), artifact.precision) is None


# c1 is folded into bn1's conv by the Core ML converter: the conv is named after bn1.
@pytest.mark.parametrize(("marker", "layer"), [("c3", "c3"), ("bn1", "bn1"), ("c5", "c5"), ("skip", "skip")])
def test_planted_coreml_weight_is_localized_to_its_conv(convnet, tmp_path, marker, layer):
    from mobilekit.parity.localize import localize_divergence
    from mobilekit.parity.verify import verify_artifact

    ctx, artifacts, inputs, reference = convnet
    art = artifacts["coreml"]
    planted = tmp_path / "planted.mlpackage"
    _plant_coreml(art.path, planted, marker)
    assert verify_artifact(ctx, planted, art.precision, inputs, reference).status == "failed"
    div = localize_divergence(ctx, planted, inputs, _tolerance("coreml", art.precision), art.precision)
    data = _check_report(div, layer, "conv")
    assert f"_{marker}_" in data["op_name"] and data["matched_by"] == "name" and not data["ambiguous"]
    assert data["input_ranges"]["weight"]["max"] == 25.0 and data["input_ranges"]["weight"]["const"]
    assert not data["input_ranges"]["x"]["const"]


# TFLite fuses c1 + bn1 + r1 into one CONV_2D named "model/r1/Relu;model/c1/Conv2D".
@pytest.mark.parametrize(("marker", "layer"), [("c3", "c3"), ("c1", "r1"), ("skip", "skip")])
def test_planted_tflite_weight_is_localized_to_its_conv(convnet, tmp_path, marker, layer):
    from mobilekit.parity.localize import localize_divergence
    from mobilekit.parity.verify import verify_artifact

    ctx, artifacts, inputs, reference = convnet
    art = artifacts["tflite"]
    planted = tmp_path / "planted.tflite"
    _plant_tflite(art.path, planted, marker)
    assert verify_artifact(ctx, planted, art.precision, inputs, reference).status == "failed"
    div = localize_divergence(ctx, planted, inputs, _tolerance("tflite", art.precision), art.precision)
    data = _check_report(div, layer, "CONV_2D")
    assert f"/{marker}/" in data["op_name"] and data["matched_by"] == "name" and not data["ambiguous"]
    assert any(r.get("max") == 25.0 and r["const"] for r in data["input_ranges"].values())


def test_position_matching_when_names_say_nothing(convnet, tmp_path):
    """The same reference model with every layer renamed: no tensor name matches, shapes do."""
    import tf_keras as keras

    from mobilekit.parity.localize import localize_divergence
    from mobilekit.convert.context import ModelContext

    ctx, artifacts, inputs, _ = convnet
    clone = keras.models.clone_model(ctx.model, clone_function=lambda layer: layer.__class__.from_config(
        {**layer.get_config(), "name": f"renamed_{layer.name}" if layer.name != "out" else "out"}))
    clone.set_weights(ctx.model.get_weights())
    renamed = ModelContext(clone, ctx.io, ctx.path)
    art = artifacts["coreml"]
    planted = tmp_path / "planted.mlpackage"
    _plant_coreml(art.path, planted, "c3")
    div = localize_divergence(renamed, planted, inputs, _tolerance("coreml", art.precision), art.precision)
    # Shape runs are matched at their ends: c3, c4, skip and merge share a shape, so the first failing
    # point is merge's output; the segment before it (c3, c4, skip, add) names its earliest conv, c3.
    data = _check_report(div, "renamed_merge", "conv")
    assert data["matched_by"] == "position" and "_c3_" in data["op_name"]
    assert data["ambiguous"] and any("_c4_" in op for op in data["candidate_ops"])
