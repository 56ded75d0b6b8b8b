"""Core ML custom-layer route: neural-network conversion naming the Swift classes, scoped
translations, NumPy references in the MIL executor, and the parity gate for such artifacts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.keras_io import io_from_keras
from mobilekit.nn.layers import Dilation2D, ResizeArea, ResizeBicubic
from mobilekit.convert.context import ModelContext, parity_inputs, reference_outputs
from mobilekit.convert.request import convert_artifact

tf, keras = tf_and_keras()
ELEMENT = np.linspace(0, 0.2, 3 * 5 * 2, dtype=np.float32).reshape(3, 5, 2)


@pytest.fixture(scope="module")
def custom_model():
    x = keras.Input((12, 12, 2), name="image")
    y = Dilation2D(structuring_element=ELEMENT, name="bumpy")(x)  # non-flat: no exact decomposition
    y = ResizeBicubic((18, 18), name="up")(y)  # non-integer factor
    y = tf.image.resize(y, (8, 8), method="area")  # raw op (not a mobilekit layer), non-integer factor
    model = keras.Model(x, y, name="model")
    return ModelContext(model, io_from_keras(model), Path("custom.keras"))


@pytest.fixture(scope="module")
def converted(custom_model, tmp_path_factory):
    return convert_artifact(custom_model, "coreml", tmp_path_factory.mktemp("coreml"))


def test_custom_layers_name_the_swift_classes(converted):
    import coremltools as ct

    from mobilekit.convert.ops.coreml_custom import custom_layers_in

    assert converted.details["format"] == "neuralnetwork" and converted.precision == "fp32"
    spec = ct.models.MLModel(str(converted.path), skip_model_load=True).get_spec()
    layers = {layer["class_name"]: layer for layer in custom_layers_in(spec)}
    assert sorted(layers) == ["MKDilation2D", "MKResizeArea", "MKResizeBicubic"]
    assert layers["MKDilation2D"]["parameters"] == {"kernel_height": 3, "kernel_width": 5, "data_layout": "NCHW"}
    assert layers["MKDilation2D"]["weights"] == [ELEMENT.size]  # the (kh, kw, C) element as one float32 blob
    assert layers["MKResizeBicubic"]["parameters"] == {"output_height": 18, "output_width": 18, "data_layout": "NCHW"}
    assert layers["MKResizeArea"]["parameters"]["output_height"] == 8
    routes = {(r["op"], r["status"]) for r in converted.details["op_routes"]}
    assert routes == {("Dilation2D", "custom_kernel"), ("ResizeBicubic", "custom_kernel"), ("ResizeArea", "custom_kernel")}


def test_translations_are_scoped_to_the_conversion(converted):
    from coremltools.converters.mil.frontend.tensorflow.tf_op_registry import _TF_OPS_REGISTRY

    from mobilekit.convert.ops.coreml_custom import installed_translations

    assert installed_translations() == frozenset()
    assert not {"Dilation2D", "ResizeBicubic", "ResizeArea"} & set(_TF_OPS_REGISTRY)


def test_mil_references_match_tensorflow():
    from mobilekit.parity.mil_custom_ops import CUSTOM_OP_REFERENCES

    class Call(dict):
        pass

    x = np.random.default_rng(0).random((1, 10, 9, 2), dtype=np.float32)
    nchw = np.transpose(x, (0, 3, 1, 2))
    dil = CUSTOM_OP_REFERENCES["mk_dilation2d"](Call(x=nchw, kernel_height=3, kernel_width=5, data_layout="NCHW", filter=ELEMENT))
    want = tf.nn.dilation2d(x, ELEMENT, [1] * 4, "SAME", "NHWC", [1] * 4).numpy()
    np.testing.assert_allclose(np.transpose(dil, (0, 2, 3, 1)), want, atol=1e-6)
    for op, method in (("mk_resize_bicubic", "bicubic"), ("mk_resize_area", "area")):
        got = CUSTOM_OP_REFERENCES[op](Call(x=nchw, output_height=7, output_width=15, data_layout="NCHW"))
        want = tf.image.resize(x, (7, 15), method).numpy()
        assert np.abs(np.transpose(got, (0, 2, 3, 1)) - want).max() <= 1e-5


def test_parity_gate_runs_the_pre_backend_program(custom_model, converted):
    from mobilekit.parity.mil_custom_ops import RUNNER, verify_converted

    inputs = parity_inputs(custom_model, 2)
    reference = reference_outputs(custom_model, inputs)
    result = verify_converted(custom_model, converted, inputs, reference)
    assert result.status == "passed" and result.runner == RUNNER
    assert result.outputs[0].max_abs <= 1e-5
    assert result.checks[0].startswith("✓ custom layers") and "MKResizeArea" in result.checks[0]
    assert "cannot run it here" in result.note and "Not executed" in result.note
