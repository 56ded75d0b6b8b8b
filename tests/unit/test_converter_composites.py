"""Graph-level routes for any model: exact GELU (Erfc, via converter composites) and tf_keras grouped
convolutions (XLA-only function calls, called directly while lowering) convert for every target with
parity against TensorFlow. About 25 s."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mobilekit.convert.context import ModelContext, parity_inputs, reference_outputs
from mobilekit.convert.coverage import coverage_report
from mobilekit.convert.ops.composites import COMPOSITES, composite_for
from mobilekit.convert.request import convert_artifact, convert_request
from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.keras_io import model_io
from mobilekit.parity.verify import verify_artifact

tf, keras = tf_and_keras()
TARGETS = ("coreml", "tflite", "onnx")


def _gelu_grouped_model():
    """Exact GELU on both a conv and a dense output, and a grouped (groups=4) convolution."""
    inp = keras.Input((12, 12, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same")(inp)
    x = keras.layers.Activation(lambda t: keras.activations.gelu(t, approximate=False), name="gelu")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", groups=4, name="grouped")(x)
    out = keras.layers.Dense(5, activation=keras.activations.gelu, name="head")(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 1.0, w.shape).astype(np.float32) for w in model.get_weights()])  # GELU's tails matter
    return model


@pytest.fixture(scope="module")
def ctx():
    model = _gelu_grouped_model()
    return ModelContext(model, model_io(model), Path("gelu-grouped.keras"))


def test_the_model_as_written_holds_erfc_and_an_xla_only_call(ctx):
    report = coverage_report(ctx.model, ctx.io, targets=("coreml",))
    assert "Erfc" in report.graph_ops
    assert any(op.endswith("PartitionedCall") for op in report.graph_ops)  # the jit-compiled grouped conv
    rows = {(r.op, r.status, r.rule) for r in report.targets["coreml"].rows}
    assert ("Erfc", "composite", "erfc-as-one-minus-erf") in rows
    assert not report.targets["coreml"].unsupported


def test_composites_are_registered_for_the_targets_lacking_erfc():
    assert composite_for("coreml", "Erfc") and composite_for("onnx", "Erfc")
    assert composite_for("tflite", "Erfc") is None  # the TFLite converter fuses exact GELU into its GELU builtin
    assert {COMPOSITES.get(k).target for k in COMPOSITES} >= {"coreml", "onnx"}


@pytest.mark.parametrize("target", TARGETS)
def test_exact_gelu_and_grouped_conv_convert_with_parity(ctx, target, tmp_path):
    inputs = parity_inputs(ctx, 3)
    inputs = {n: (a * 8.0 - 4.0).astype(np.float32) for n, a in inputs.items()}  # both tails of erfc
    expected = reference_outputs(ctx, inputs)
    artifact = convert_artifact(ctx, target, tmp_path, convert_request(ctx, target, precision="fp32"))
    result = verify_artifact(ctx, artifact.path, "fp32", inputs, expected)
    assert result.status == "passed", result.checks
    assert max(o.max_abs for o in result.outputs) < 1e-4
    routes = {(r["op"], r["status"]) for r in artifact.details.get("op_routes", [])}
    if target in ("coreml", "onnx"):
        assert ("Erfc", "composite") in routes
