"""Coverage: every op of the traced graph with its route per target, and the all-at-once failure."""
from __future__ import annotations

import numpy as np
import pytest

from mobilekit.convert.coverage import COREML_STRUCTURAL_OPS, coreml_native_ops, coverage_report, tflite_non_builtin_ops
from mobilekit.core.errors import EXIT_GATE_FAILED, UnsupportedOpsError
from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.keras_io import io_from_keras
from mobilekit.nn.layers import Dilation2D, Erosion2D, ResizeArea, ResizeBicubic

tf, keras = tf_and_keras()
UNIT = [1, 1, 1, 1]


def _rows(report, target):
    rows = {}
    for r in report.to_dict()["targets"][target]["ops"]:
        key = (r["op"], r["status"], r.get("class_name") or r.get("flex_op") or r.get("rule"))
        if key in rows:  # same outcome, different reasons (e.g. a layer's vs a raw op's): merge nodes
            r = {**r, "nodes": sorted(rows[key]["nodes"] + r["nodes"]), "count": rows[key]["count"] + r["count"],
                 "reasons": rows[key].get("reasons", []) + r.get("reasons", [])}
        rows[key] = r
    return rows


@pytest.fixture(scope="module")
def mixed_report():
    """mobilekit layers (decomposable and not) plus the same ops written directly (TFOpLambda)."""
    x = keras.Input((16, 16, 3), name="image")
    y = Erosion2D(3, name="erode")(x)
    y = ResizeBicubic((32, 32), name="up")(y)
    y = ResizeArea((16, 16), name="down")(y)
    y = ResizeBicubic((24, 24), name="odd_up")(y)
    y = Dilation2D(structuring_element=np.full((3, 3, 3), 0.1, np.float32), name="bumpy")(y)
    y = tf.nn.erosion2d(y, tf.zeros((3, 3, 3)), strides=UNIT, padding="SAME", data_format="NHWC", dilations=UNIT)
    model = keras.Model(x, y, name="model")
    return coverage_report(model, io_from_keras(model))


def test_layers_decompose_and_name_their_rule(mixed_report):
    for target in ("coreml", "tflite"):
        rows = _rows(mixed_report, target)
        assert rows[("Dilation2D", "decomposed", "flat-element-as-maxpool")]["nodes"] == ["model/erode/erosion2d"]
        assert rows[("ResizeBicubic", "decomposed", "integer-upscale-as-transposed-conv")]["nodes"] == ["model/up/resize/ResizeBicubic"]
        assert rows[("ResizeArea", "decomposed", "integer-downscale-as-avgpool")]["nodes"] == ["model/down/resize/ResizeArea"]
        # erosion2d's helper ops went with it: every op as written has a row
        assert rows[("ReverseV2", "decomposed", "flat-element-as-maxpool")]["nodes"] == ["model/erode/erosion2d/ReverseV2"]
        # what the decompositions emitted is listed too, and is native
        assert rows[("MaxPool", "native", None)]["introduced_by"] == "flat-element-as-maxpool"
        assert rows[("Conv2DBackpropInput", "native", None)]["introduced_by"] == "integer-upscale-as-transposed-conv"
    assert mixed_report.supported


def test_other_sites_take_kernel_routes_per_target(mixed_report):
    coreml, tflite = _rows(mixed_report, "coreml"), _rows(mixed_report, "tflite")
    dil = coreml[("Dilation2D", "custom_kernel", "MKDilation2D")]
    assert dil["nodes"] == ["model/bumpy/Dilation2D", "model/tf.nn.erosion2d/erosion2d"]
    assert any("not flat" in r for r in dil["reasons"])  # the layer's own reason, not the graph's
    assert coreml[("ResizeBicubic", "custom_kernel", "MKResizeBicubic")]["nodes"] == ["model/odd_up/resize/ResizeBicubic"]
    flex = tflite[("Dilation2D", "select_tf_ops", "FlexDilation2D")]
    assert flex["count"] == 2 and "MB" in flex["binary_size"]
    assert ("ResizeBicubic", "select_tf_ops", "FlexResizeBicubic") in tflite
    # every op of the model as written is in the report
    graph_ops = set(mixed_report.graph_ops)
    assert {"Dilation2D", "ResizeBicubic", "ResizeArea", "Neg", "ReverseV2", "Placeholder"} <= graph_ops
    for target in ("coreml", "tflite"):
        assert graph_ops <= {r["op"] for r in mixed_report.to_dict()["targets"][target]["ops"]}


def test_unsupported_ops_fail_all_at_once_with_node_names():
    x = keras.Input((8, 8, 1), name="x")
    y = tf.tensor_scatter_nd_update(x, [[0, 0, 0, 0]], [1.0])
    y = tf.image.resize(y, (6, 6), method="area")  # raw op: TFLite has no kernel route for ResizeArea
    model = keras.Model(x, y, name="model")
    report = coverage_report(model, io_from_keras(model))
    assert not report.supported
    with pytest.raises(UnsupportedOpsError) as caught:
        report.require_supported()
    err = caught.value
    assert err.exit_code == EXIT_GATE_FAILED
    message = str(err)
    # (TFOpLambda layer names get a _N suffix when the process made such layers before)
    assert "coreml: TensorScatterUpdate at model/tf.tensor_scatter_nd_update" in message
    assert "tflite: ResizeArea at model/tf.image.resize" in message
    bad = err.details["unsupported_ops"]
    assert [r["op"] for r in bad["coreml"]] == ["TensorScatterUpdate"] and [r["op"] for r in bad["tflite"]] == ["ResizeArea"]
    assert any("allowlist" in r for r in bad["tflite"][0]["reasons"])
    # Core ML can still take the raw ResizeArea through its custom layer
    assert ("ResizeArea", "custom_kernel", "MKResizeArea") in _rows(report, "coreml")


def test_segmentation_family_model_is_all_native():
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family

    from conftest import TINY

    config, _ = load_config(TINY)
    family = get_family(config.family)
    report = coverage_report(family.build_model(config), family.io(config))
    for target, cov in report.to_dict()["targets"].items():
        assert {r["status"] for r in cov["ops"]} == {"native"}, target


def test_native_sets_come_from_the_converters():
    native = coreml_native_ops()
    assert {"Conv2D", "MaxPool", "AvgPool", "Conv2DBackpropInput", "BatchMatMulV2"} <= native
    assert not {"Dilation2D", "ResizeBicubic", "ResizeArea", "TensorScatterUpdate"} & native
    assert set(COREML_STRUCTURAL_OPS) <= native

    @tf.function(input_signature=[tf.TensorSpec((1, 8, 8, 1), tf.float32)])
    def raw(t):
        t = tf.nn.dilation2d(t, tf.zeros((3, 3, 1)), strides=UNIT, padding="SAME", data_format="NHWC", dilations=UNIT)
        return tf.image.resize(tf.image.resize(t, (12, 12), "bicubic"), (6, 6), "area")

    assert tflite_non_builtin_ops(raw.get_concrete_function()) == {
        "Dilation2D": "select_tf_ops", "ResizeBicubic": "select_tf_ops", "ResizeArea": "custom"}


def test_constant_subgraphs_count_as_folded_not_unsupported():
    """coremltools folds constant subgraphs (here: an op it cannot translate, on a weight) first."""
    class Scaled(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(name="w", shape=(2, 2), initializer="ones")

        def call(self, x):
            folded = tf.tensor_scatter_nd_update(self.w, [[0, 0]], [3.0])  # depends only on a variable
            return x * tf.reduce_sum(folded)

    x = keras.Input((4, 4, 1), name="x")
    model = keras.Model(x, Scaled(name="scaled")(x), name="model")
    cov = coverage_report(model, io_from_keras(model), ["coreml"]).to_dict()["targets"]["coreml"]
    (row,) = [r for r in cov["ops"] if r["op"] == "TensorScatterUpdate"]
    assert row["status"] == "native" and row["rule"] == "constant-folded" and cov["supported"]
