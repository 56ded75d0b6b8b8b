"""ONNX target (tf2onnx) and the ONNX Runtime runner, in process on tiny models."""
from pathlib import Path

import numpy as np
import pytest

from mobilekit.convert.base import TARGETS
from mobilekit.core.config import BundleMeta
from mobilekit.core.errors import InputError, UnsupportedOpsError
from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.keras_io import io_from_keras
from mobilekit.parity.runners.base import GATE_RUNNERS, RUNNERS
from mobilekit.convert.base import target_of
from mobilekit.convert.context import ModelContext, reference_outputs
from mobilekit.convert.request import convert_artifact, convert_request
from mobilekit.parity.verify import runner_for_artifact

tf, keras = tf_and_keras()


def _two_in_two_out():
    """Output order deliberately not sorted ("score" before "features") to catch name/order mix-ups."""
    image = keras.Input((16, 16, 3), name="image")
    hint = keras.Input((16, 16, 1), name="hint")
    x = keras.layers.Concatenate()([image, hint])
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    features = keras.layers.Conv2D(3, 1, name="features")(x)
    score = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="score")(x)
    model = keras.Model([image, hint], [score, features], name="twohead")
    rng = np.random.default_rng(1)
    for layer in model.layers:  # non-trivial BatchNorm statistics
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, 6), rng.normal(0, 0.1, 6), rng.normal(0, 0.2, 6), rng.uniform(0.5, 2.0, 6)])
    return model


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    model = _two_in_two_out()
    ctx = ModelContext(model, io_from_keras(model), Path("twohead.keras"))
    out = tmp_path_factory.mktemp("onnx")
    return ctx, convert_artifact(ctx, "onnx", out)


def test_onnx_is_a_registered_target_with_a_gate_runner():
    assert "onnx" in TARGETS and TARGETS.get("onnx").suffix == ".onnx"
    assert GATE_RUNNERS["onnx"] == ("onnxruntime",)
    assert RUNNERS.get("onnxruntime").target == "onnx"
    assert target_of(Path("m.onnx")) == "onnx"
    runner, skipped = runner_for_artifact(Path("m.onnx"))
    assert runner is not None and runner.name == "onnxruntime" and skipped == []


def test_names_opset_and_metadata_kept(converted):
    import onnx

    ctx, artifact = converted
    proto = onnx.load(str(artifact.path))
    assert [i.name for i in proto.graph.input] == ["image", "hint"]  # io order
    assert sorted(o.name for o in proto.graph.output) == ["features", "score"]
    default_opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    assert default_opset >= 13 and artifact.details["opset"] == default_opset
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["name"] == "twohead" and props["mobilekit.family"] == "generic"
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in proto.graph.output}
    assert shapes == {"score": [1, 16, 16, 1], "features": [1, 16, 16, 3]}


def test_onnxruntime_matches_tensorflow(converted):
    ctx, artifact = converted
    rng = np.random.default_rng(0)
    inputs = {"image": rng.random((3, 16, 16, 3), dtype=np.float32), "hint": rng.random((3, 16, 16, 1), dtype=np.float32)}
    expected = reference_outputs(ctx, inputs)
    got = RUNNERS.get("onnxruntime").run(artifact.path, inputs, ctx.io)
    assert set(got) == {"score", "features"}
    for name in expected:
        assert got[name].shape == expected[name].shape
        assert float(np.max(np.abs(got[name] - expected[name]))) <= 1e-4, name


def test_reconversion_gives_the_same_program(converted, tmp_path):
    """Same ops and weights (node names carry TF's per-process name-scope counters; a fresh process
    reproduces the bytes exactly)."""
    import onnx
    from onnx import numpy_helper

    ctx, artifact = converted
    first, again = onnx.load(str(artifact.path)), onnx.load(str(convert_artifact(ctx, "onnx", tmp_path).path))
    assert [n.op_type for n in first.graph.node] == [n.op_type for n in again.graph.node]
    weights = lambda m: sorted(numpy_helper.to_array(t).tobytes() for t in m.graph.initializer)  # noqa: E731
    assert weights(first) == weights(again)


def test_ops_tf2onnx_cannot_convert_are_refused_before_writing(tmp_path):
    x = keras.Input((8, 8, 1), name="x")
    y = keras.layers.Conv2D(2, 3, padding="same")(x)
    y = tf.math.lgamma(tf.nn.relu(y) + 1.0)  # no ONNX translation in tf2onnx
    model = keras.Model(x, y, name="lg")
    ctx = ModelContext(model, io_from_keras(model), Path("lg.keras"))
    with pytest.raises(UnsupportedOpsError, match="Lgamma") as caught:
        convert_artifact(ctx, "onnx", tmp_path / "out")
    assert caught.value.exit_code == 1
    assert not (tmp_path / "out" / "lg.onnx").exists()


def test_onnx_is_fp32_only():
    model = keras.Sequential([keras.Input((4, 4, 1), name="x"), keras.layers.Conv2D(1, 1, name="y")])
    ctx = ModelContext(model, io_from_keras(model), Path("s.keras"))
    with pytest.raises(InputError, match="fp32 only"):
        convert_request(ctx, "onnx", BundleMeta(name="s", version="0.0.0"), precision="fp16")
    assert convert_request(ctx, "coreml", precision="fp32").options.compute_precision == "fp32"
    assert convert_request(ctx, "tflite", precision="fp16").options.precision == "fp16"
