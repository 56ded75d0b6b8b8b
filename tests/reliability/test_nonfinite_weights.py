"""NaN/Inf weights and outputs: refused before conversion (exit 2, naming each broken weight) unless
`--allow-nonfinite-weights`, and blamed on the right side by parity (a broken TensorFlow reference is
never reported as a bad candidate)."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import last_json, run_cli
from mobilekit.convert.preflight import NonFiniteWeights, check_finite_weights, nonfinite_weights
from mobilekit.core.config import Tolerance
from mobilekit.core.errors import EXIT_BAD_INPUT, InputError
from mobilekit.parity.compare import compare_outputs


def _tf_keras_model(nan: int = 12, inf: int = 0):
    """conv2d_3 has a 3x3x3x32 kernel (864 values): `nan` of them NaN, `inf` of its biases Inf."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    x = keras.Input((8, 8, 3), name="image")
    y = keras.layers.Conv2D(32, 3, padding="same", name="conv2d_3")(x)
    y = keras.layers.BatchNormalization(name="bn")(y)
    model = keras.Model(x, keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(y))
    kernel, bias = model.get_layer("conv2d_3").get_weights()
    kernel.reshape(-1)[:nan] = np.nan
    bias[:inf] = np.inf
    model.get_layer("conv2d_3").set_weights([kernel, bias])
    return model


def test_nan_weights_are_named_with_counts():
    model = _tf_keras_model(nan=12, inf=2)
    with pytest.raises(NonFiniteWeights) as refused:
        check_finite_weights(model, source="model.keras")
    message = str(refused.value)
    assert isinstance(refused.value, InputError) and refused.value.exit_code == EXIT_BAD_INPUT
    assert message.startswith("model.keras: 2 weight(s) hold NaN/Inf") and "\n" not in message
    assert "conv2d_3/kernel: 12 NaN, 0 Inf of 864 values" in message and "conv2d_3/bias: 0 NaN, 2 Inf of 32 values" in message
    assert "--allow-nonfinite-weights" in message
    assert [str(f) for f in check_finite_weights(model, allow_nonfinite=True)] == [
        "conv2d_3/kernel: 12 NaN, 0 Inf of 864 values", "conv2d_3/bias: 0 NaN, 2 Inf of 32 values"]
    assert check_finite_weights(_tf_keras_model(nan=0)) == []


def test_non_trainable_keras3_and_savedmodel_weights_are_checked(tmp_path):
    """BatchNorm statistics (tf_keras), Keras 3 variable paths, SavedModel signature variables."""
    import keras as keras3

    model = _tf_keras_model(nan=0)
    gamma, beta, mean, var = model.get_layer("bn").get_weights()
    var[3] = np.inf
    model.get_layer("bn").set_weights([gamma, beta, mean, var])
    assert [str(f) for f in nonfinite_weights(model)] == ["bn/moving_variance: 0 NaN, 1 Inf of 32 values"]

    inp = keras3.Input((4,))
    net = keras3.Model(inp, keras3.layers.Dense(2, name="head")(inp))
    w, b = net.get_layer("head").get_weights()
    w[0, 0] = np.nan
    net.get_layer("head").set_weights([w, b])
    assert [str(f) for f in nonfinite_weights(net)] == ["head/kernel: 1 NaN, 0 Inf of 8 values"]

    import tensorflow as tf

    from mobilekit.nn.loading import load_keras_model

    tf.saved_model.save(model, str(tmp_path / "sm"))
    signature = load_keras_model(tmp_path / "sm")
    assert [(f.name.endswith("moving_variance"), f.inf) for f in nonfinite_weights(signature)] == [(True, 1)]


def test_convert_artifact_refuses_before_writing_and_converts_when_allowed(tmp_path):
    from mobilekit.convert.context import ModelContext, reference_outputs
    from mobilekit.convert.request import convert_artifact
    from mobilekit.nn.keras_io import io_from_keras
    from mobilekit.parity.verify import verify_artifact

    model = _tf_keras_model(nan=12)
    ctx = ModelContext(model, io_from_keras(model), tmp_path / "nan.keras")
    with pytest.raises(NonFiniteWeights, match="conv2d_3/kernel: 12 NaN, 0 Inf of 864 values"):
        convert_artifact(ctx, "tflite", tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    artifact = convert_artifact(ctx, "tflite", tmp_path / "allowed", allow_nonfinite=True)
    assert artifact.path.is_file() and artifact.details["nonfinite_weights"] == ["conv2d_3/kernel: 12 NaN, 0 Inf of 864 values"]
    inputs = {"image": np.random.default_rng(0).random((2, 8, 8, 3), dtype=np.float32)}
    result = verify_artifact(ctx, artifact.path, "fp32", inputs, reference_outputs(ctx, inputs))
    assert result.status == "failed"
    (failure,) = result.outputs[0].failures
    assert re.search(r"the TensorFlow reference output mask holds \d+ NaN / 0 Inf of 128 values: "
                     "the reference model is broken, not the candidate", failure), failure


def test_parity_blames_the_side_that_holds_nan_inf():
    ok = np.zeros((1, 2, 2, 1), np.float32)
    bad = ok.copy()
    bad[0, 0, 0, 0], bad[0, 1, 1, 0] = np.nan, np.inf

    def compare(reference, candidate):
        return compare_outputs({"mask": reference}, {"mask": candidate}, Tolerance(max_abs=1e-4),
                               target="tflite", precision="fp32", runner="test")

    broken_reference = compare(bad, ok)
    (failure,) = broken_reference.outputs[0].failures
    assert not broken_reference.passed and "NaN/Inf" in failure
    assert "the TensorFlow reference output mask holds 1 NaN / 1 Inf of 4 values: the reference model is broken, not the candidate" in failure
    assert any("reference model is broken" in line for line in broken_reference.checks)
    both = compare(bad, bad)
    assert not both.passed and "reference model is broken" in both.outputs[0].failures[0]
    assert "the candidate reproduces it: 1 NaN / 1 Inf of 4 values" in both.outputs[0].failures[0]
    broken_candidate = compare(ok, bad)
    (failure,) = broken_candidate.outputs[0].failures
    assert not broken_candidate.passed and "reference model is broken" not in failure
    assert "the candidate's output mask holds 1 NaN / 1 Inf of 4 values while the TensorFlow reference is finite" in failure


def test_convert_cli_refuses_nan_weights_unless_allowed(tmp_path):
    path = tmp_path / "nan.keras"
    _tf_keras_model(nan=12).save(path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        refused = pool.submit(run_cli, "convert", "tflite", "--model", str(path), "--out", str(tmp_path / "no"), "--json")
        allowed = pool.submit(run_cli, "convert", "tflite", "--model", str(path), "--out", str(tmp_path / "yes"),
                              "--allow-nonfinite-weights", "--json")
        refused, allowed = refused.result(), allowed.result()
    assert refused.returncode == 2, refused.stderr[-1500:]
    error = last_json(refused.stdout)["error"]
    assert error.startswith(f"{path}: 1 weight(s) hold NaN/Inf") and "conv2d_3/kernel: 12 NaN, 0 Inf of 864 values" in error
    assert "\n" not in error and "Traceback" not in refused.stderr and not (tmp_path / "no").exists()
    assert allowed.returncode == 0, allowed.stderr[-1500:]
    summary = last_json(allowed.stdout)
    assert Path(summary["artifacts"][0]).is_file()
    assert summary["nonfinite_weights"] == ["conv2d_3/kernel: 12 NaN, 0 Inf of 864 values"]
