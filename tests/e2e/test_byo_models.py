"""Bring your own model: Keras 3 `.keras`, tf_keras `.h5` and SavedModel directories through
`mobilekit convert` and `mobilekit parity`, and the trust policy.

The Keras 3 chains and the Lambda refusal run the CLI as users do (`python -m mobilekit`, one process
per command); the `.h5` and SavedModel chains invoke the same Typer app in this process, which
spares four TensorFlow start-ups (most of a command's time on these tiny models)."""
from __future__ import annotations

import json
import os
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mobilekit.core.errors import InputError, UntrustedModelError
from mobilekit.nn.loading import check_model_file, load_keras_model
from conftest import last_json, run_cli

keras3 = pytest.importorskip("keras")  # the Keras 3 package (tf.keras is tf_keras in mobilekit processes)

OUTPUT_KEYS = {"name", "max_abs", "mean_abs", "psnr", "passed"}


def _keras3_net(size: int = 32):
    """Two inputs, two outputs listed in unsorted order, non-trivial BatchNorm statistics."""
    layers = keras3.layers
    image = keras3.Input((size, size, 3), name="image")
    hint = keras3.Input((size, size, 1), name="hint")
    x = layers.Concatenate()([image, hint])
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    skip = x
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.UpSampling2D(interpolation="bilinear")(x)
    x = layers.Add()([x, skip])
    score = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="score")(x)
    features = layers.Conv2D(4, 1, name="features")(x)
    model = keras3.Model([image, hint], [score, features], name="byo_net")
    rng = np.random.default_rng(7)
    bn = next(l for l in model.layers if isinstance(l, layers.BatchNormalization))
    bn.set_weights([rng.uniform(0.5, 1.5, 8), rng.normal(0, 0.1, 8), rng.normal(0, 0.2, 8), rng.uniform(0.5, 2.0, 8)])
    return model


def _in_process(*args: str) -> subprocess.CompletedProcess:
    from typer.testing import CliRunner

    from mobilekit.cli import app

    result = CliRunner().invoke(app, list(args))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _convert_and_check(target: str, model: str, out: str, *extra: str, cli=run_cli) -> tuple[dict, dict]:
    """`convert TARGET` then `parity` on its artifact, both with --json; (convert summary, parity summary)."""
    converted = cli("convert", target, "--model", model, "--out", out, "--json", *extra)
    assert converted.returncode == 0, converted.stdout[-1500:] + converted.stderr[-3000:]
    summary = last_json(converted.stdout)
    (artifact,) = summary["artifacts"]
    parity = cli("parity", "--reference", model, "--candidate", artifact, "--json")
    assert parity.returncode == 0, parity.stdout[-3000:] + parity.stderr[-3000:]
    return summary, last_json(parity.stdout)


def _assert_parity(report: dict, runner: str, outputs: set[str]) -> None:
    assert report["passed"] is True and report["runner"] == runner and report["precision"] == "fp32"
    assert {o["name"] for o in report["outputs"]} == outputs
    for entry in report["outputs"]:
        assert OUTPUT_KEYS <= set(entry)
        assert entry["passed"] is True and entry["max_abs"] <= 1e-4, entry


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Every model file the tests use, saved once."""
    from mobilekit.core.tf import tf_and_keras

    root = tmp_path_factory.mktemp("byo")
    net = _keras3_net()
    paths = {"keras3": root / "byo_net.keras"}
    net.save(paths["keras3"])
    paths["savedmodel"] = root / "byo_export"
    net.export(str(paths["savedmodel"]), verbose=False)  # Keras 3's SavedModel export (serving_default signature)

    inp = keras3.Input((32, 32, 3), name="pixels")
    lam = keras3.layers.Lambda(lambda t: t * 2.0, name="sneaky")(inp)
    paths["keras3_lambda"] = root / "lambda3.keras"
    keras3.Model(inp, lam).save(paths["keras3_lambda"])

    _, tfk = tf_and_keras()  # tf_keras (Keras 2)
    x = tfk.Input((32, 32, 3), name="rgb")
    y = tfk.layers.Conv2D(6, 3, padding="same", activation="relu")(x)
    y = tfk.layers.BatchNormalization()(y)
    y = tfk.layers.Conv2D(2, 3, padding="same", activation="softmax", name="probs")(y)
    paths["h5"] = root / "legacy.h5"
    tfk.Model(x, y).save(paths["h5"])
    return {k: str(v) for k, v in paths.items()}


@pytest.fixture(scope="module")
def chains(models, tmp_path_factory):
    """The Keras 3 convert → parity chains, run two at a time (each command is a fresh process, most
    of whose time is importing TensorFlow; MOBILEKIT_TEST_JOBS=1 runs them one by one)."""
    out = tmp_path_factory.mktemp("out")
    jobs = {
        "keras3-coreml": ("coreml", models["keras3"], str(out / "k3-coreml"), "--precision", "fp32"),
        "keras3-tflite": ("tflite", models["keras3"], str(out / "k3-tflite")),
        "keras3-onnx": ("onnx", models["keras3"], str(out / "k3-onnx")),
    }
    with ThreadPoolExecutor(max_workers=int(os.environ.get("MOBILEKIT_TEST_JOBS", "2"))) as pool:
        futures = {name: pool.submit(_convert_and_check, *args) for name, args in jobs.items()}
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result()
        except AssertionError as exc:  # reported by the test that needs this chain
            results[name] = exc
    return results


def _chain(chains, name):
    result = chains[name]
    if isinstance(result, AssertionError):
        raise result
    return result


@pytest.mark.parametrize("target, runner, suffix", [("coreml", "mil-executor", ".mlpackage"),
                                                     ("tflite", "litert", ".tflite"),
                                                     ("onnx", "onnxruntime", ".onnx")])
def test_keras3_model_converts_and_passes_parity(chains, target, runner, suffix):
    summary, report = _chain(chains, f"keras3-{target}")
    assert summary["target"] == target and summary["precision"] == "fp32"
    assert summary["artifacts"][0].endswith(f"byo_net{suffix}")
    _assert_parity(report, runner, {"score", "features"})


def test_tf_keras_h5_converts_and_passes_parity(models, tmp_path):
    summary, report = _convert_and_check("tflite", models["h5"], str(tmp_path), cli=_in_process)
    assert summary["artifacts"] == [str(tmp_path / "legacy.tflite")]
    _assert_parity(report, "litert", {"probs"})


def test_savedmodel_directory_converts_and_passes_parity(models, tmp_path):
    summary, report = _convert_and_check("tflite", models["savedmodel"], str(tmp_path), cli=_in_process)
    assert summary["artifacts"] == [str(tmp_path / "byo_export.tflite")]
    _assert_parity(report, "litert", {"output_0", "output_1"})  # Keras 3 export names the signature outputs


def test_keras3_lambda_refused_unless_trusted(models, tmp_path):
    path = models["keras3_lambda"]
    with pytest.raises(UntrustedModelError, match="sneaky"):
        check_model_file(Path(path))
    refused = run_cli("convert", "onnx", "--model", path, "--out", str(tmp_path / "no"), "--json")
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "sneaky (Lambda)" in last_json(refused.stdout)["error"]
    assert not (tmp_path / "no").exists()
    trusted = run_cli("convert", "onnx", "--model", path, "--out", str(tmp_path / "yes"), "--trust-model", "--json")
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    assert last_json(trusted.stdout)["artifacts"] == [str(tmp_path / "yes" / "lambda3.onnx")]


def test_keras3_configs_are_inspected_without_loading(tmp_path):
    """Keras 3 entries: {"module", "class_name", "registered_name"}; a module is matched by package."""
    def archive(name, layer):
        path = tmp_path / name
        config = {"module": "keras", "class_name": "Functional", "registered_name": "Functional",
                  "config": {"layers": [layer]}}
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("config.json", json.dumps(config))
            zf.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        return path

    ok = archive("ok.keras", {"module": "keras.layers", "class_name": "Conv2D", "registered_name": None, "config": {"name": "c"}})
    assert check_model_file(ok) == "keras3"
    evil = archive("evil.keras", {"module": "keras_evil.layers", "class_name": "Conv2D", "registered_name": "x>Conv2D",
                                  "config": {"name": "c"}})
    with pytest.raises(UntrustedModelError, match="keras_evil.layers.Conv2D"):
        check_model_file(evil)
    # a serialized Python function nested anywhere (e.g. an activation), not only a Lambda layer
    nested = archive("nested.keras", {"module": "keras.layers", "class_name": "Activation", "registered_name": None,
                                      "config": {"name": "act", "activation": {"class_name": "__lambda__", "config": {"code": "AA=="}}}})
    with pytest.raises(UntrustedModelError, match="__lambda__"):
        check_model_file(nested)


def test_savedmodel_with_file_ops_refused_unless_trusted(tmp_path):
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()

    class Leaky(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((1, 4), tf.float32, name="x")])
        def serve(self, x):
            tf.io.write_file(str(tmp_path / "pwned"), tf.strings.as_string(x[0, 0]))
            return {"y": x * 2.0}

    module = Leaky()
    tf.saved_model.save(module, str(tmp_path / "leaky"), signatures={"serving_default": module.serve})
    with pytest.raises(UntrustedModelError, match="WriteFile"):
        load_keras_model(tmp_path / "leaky")
    assert not (tmp_path / "pwned").exists()
    assert check_model_file(tmp_path / "leaky", trust=True) == "savedmodel"


def test_savedmodel_signature_io(models):
    from mobilekit.convert.context import load_context, parity_inputs, reference_outputs

    ctx = load_context(Path(models["savedmodel"]))
    assert [(t.name, t.shape) for t in ctx.io.inputs] == [("hint", (1, 32, 32, 1)), ("image", (1, 32, 32, 3))]  # sorted keys
    assert {t.name: t.shape for t in ctx.io.outputs} == {"output_0": (1, 32, 32, 1), "output_1": (1, 32, 32, 4)}
    keras_ctx = load_context(Path(models["keras3"]))
    inputs = parity_inputs(keras_ctx, 2)
    ours, theirs = reference_outputs(ctx, inputs), reference_outputs(keras_ctx, inputs)
    np.testing.assert_allclose(ours["output_0"], theirs["score"], atol=1e-6)
    np.testing.assert_allclose(ours["output_1"], theirs["features"], atol=1e-6)


@pytest.mark.slow
def test_keras3_mobilenetv2_to_coreml_passes_parity(tmp_path):
    """keras.applications MobileNetV2 (Keras 3, weights=None) through the CLI to Core ML, gated by the
    MIL executor. A freshly initialised MobileNetV2 has vanishing activations (its softmax is 0.1
    everywhere, so any converter "passes"): BatchNorm statistics are set from one batch (momentum 0,
    one training-mode call) and the logits are compared."""
    model = keras3.applications.MobileNetV2(input_shape=(64, 64, 3), weights=None, classes=10, alpha=0.35,
                                            classifier_activation=None)
    for layer in model.layers:
        if isinstance(layer, keras3.layers.BatchNormalization):
            layer.momentum = 0.0
    batch = np.random.default_rng(3).random((16, 64, 64, 3), dtype=np.float32)
    model(batch, training=True)
    assert float(np.std(model.predict(batch[:4], verbose=0))) > 0.1  # the comparison below means something
    path = tmp_path / "mobilenetv2.keras"
    model.save(path)
    _, report = _convert_and_check("coreml", str(path), str(tmp_path / "conv"), "--precision", "fp32")
    _assert_parity(report, "mil-executor", set(model.output_names))  # measured: max-abs 4e-5 on logits of std 0.5


def test_keras3_io_contracts():
    """Names come from the saved config (Input / output layer names, dict keys), never from tensor counters."""
    from mobilekit.nn.keras_io import io_from_keras

    seq = keras3.Sequential([keras3.Input((16, 16, 3), name="rgb"), keras3.layers.Conv2D(2, 3, name="head")])
    io = io_from_keras(seq)  # Keras 3 Sequential has no output_names
    assert [(t.name, t.shape) for t in io.inputs] == [("rgb", (1, 16, 16, 3))]
    assert [(t.name, t.shape) for t in io.outputs] == [("head", (1, 14, 14, 2))]
    a, b = keras3.Input((8, 8, 3), name="rgb"), keras3.Input((8, 8, 1), name="aux")
    h = keras3.layers.Concatenate()([a, b])
    dict_model = keras3.Model({"rgb": a, "aux": b}, {"mask": keras3.layers.Conv2D(1, 1)(h), "depth": keras3.layers.Conv2D(1, 1)(h)})
    io = io_from_keras(dict_model)
    assert {t.name for t in io.inputs} == {"rgb", "aux"} and {t.name for t in io.outputs} == {"mask", "depth"}
    with pytest.raises(InputError, match="dynamic shape"):
        io_from_keras(keras3.Sequential([keras3.Input((None, None, 3), name="x"), keras3.layers.Conv2D(1, 1)]))
