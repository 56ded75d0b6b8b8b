"""fp16 range analysis: the report flags values beyond 65504 and subnormal-heavy tensors; a model
whose activations overflow fp16 fails parity as Core ML fp16, the localizer says so and names the
ops, and keeping exactly those ops in fp32 makes the conversion pass."""
from __future__ import annotations

import numpy as np
import pytest

import mobilekit  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from mobilekit.parity.fp16 import FP16_MAX, fp16_range_report, keep_fp32_suggestion, ops_leaving_fp16_range, selector_name


def test_range_report_flags_overflow_and_subnormals_only():
    rng = np.random.default_rng(0)
    acts = {
        "normal": rng.standard_normal(1000).astype(np.float32),
        "edge": np.array([FP16_MAX, -FP16_MAX, 1.0], np.float32),  # the largest fp16 values are in range
        "big": np.array([1.0, -7e4, 3.0], np.float32),
        "inf": np.array([np.inf, 1.0], np.float32),
        "tiny": np.full(100, 1e-6, np.float32),
        "ints": np.array([100000], np.int32),  # not a float activation
    }
    report = {e["name"]: e for e in fp16_range_report(acts)}
    assert sorted(report) == ["big", "inf", "tiny"]
    assert report["big"]["overflow"] and report["big"]["max_abs"] == 7e4 and report["big"]["overflow_count"] == 1
    assert report["inf"]["overflow"] and report["inf"]["nonfinite_count"] == 1
    assert report["tiny"]["subnormal"] and not report["tiny"]["overflow"] and report["tiny"]["subnormal_fraction"] == 1.0
    assert report["tiny"]["flush_to_zero_count"] == 0
    assert fp16_range_report({"few": np.r_[np.ones(999), 1e-6]}) == []  # 0.1% subnormal: noise, not a problem


def test_ops_leaving_range_include_producers_and_consumers():
    ops = [("a", "conv", ["x"], ["y"]), ("b", "relu", ["y"], ["z"]), ("c", "mul", ["z"], ["w"]), ("d", "cast", ["w"], ["o"])]
    values = {"x": np.ones(3), "y": np.full(3, 1e5), "z": np.full(3, 1e5), "w": np.full(3, 100.0), "o": np.full(3, 100.0)}
    assert ops_leaving_fp16_range(ops, values) == ["a", "b", "c"]
    assert selector_name("model_big_Conv2Dx_cast_fp16") == "model_big_Conv2Dx"
    assert keep_fp32_suggestion([]) is None
    one = keep_fp32_suggestion(["model_big_Conv2Dx_cast_fp16"])
    assert "op_selector=lambda op: op.name.replace(\"/\", \"_\") != 'model_big_Conv2Dx'" in one
    assert "not in ('a', 'b')" in keep_fp32_suggestion(["b", "a"])


@pytest.fixture(scope="module")
def overflowing(tmp_path_factory):
    """A conv whose activations reach ~1.5e5 (weights 6e4 fit fp16; their sums do not), brought back
    into range by a Rescaling; converted with the pipeline's default fp16 compute precision."""
    pytest.importorskip("coremltools")
    import tf_keras as keras

    from mobilekit.nn.keras_io import io_from_keras
    from mobilekit.convert.context import ModelContext, parity_inputs, reference_outputs
    from mobilekit.convert.request import convert_artifact

    keras.utils.set_random_seed(0)
    i = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(i)
    x = keras.layers.Conv2D(8, 1, kernel_initializer=keras.initializers.Constant(6e4), activation="relu", name="big")(x)
    x = keras.layers.Rescaling(1e-3, name="down")(x)
    x = keras.layers.Conv2D(4, 1, activation="relu", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="g")(x)
    model = keras.Model(i, keras.layers.Dense(3, name="out")(x))
    out = tmp_path_factory.mktemp("fp16")
    ctx = ModelContext(model, io_from_keras(model), out / "overflow")
    artifact = convert_artifact(ctx, "coreml", out)
    assert artifact.precision == "fp16"
    inputs = parity_inputs(ctx, 1)
    return ctx, artifact, inputs, reference_outputs(ctx, inputs), out


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the executor's fp16 casts, on purpose
def test_fp16_overflow_is_localized_and_the_suggestion_fixes_it(overflowing):
    import coremltools as ct

    from mobilekit.convert.tracing import serving_function
    from mobilekit.parity.localize import localize_divergence
    from mobilekit.parity.tolerances import tolerance_for
    from mobilekit.parity.verify import verify_artifact

    ctx, artifact, inputs, reference, out = overflowing
    tolerance = tolerance_for(None, "coreml", "fp16")
    result = verify_artifact(ctx, artifact.path, "fp16", inputs, reference)
    assert result.status == "failed" and "NaN/Inf" in " ".join(result.checks)

    div = localize_divergence(ctx, artifact.path, inputs, tolerance, "fp16")
    data = div.to_dict()
    assert data["fp16_overflow"] is True and data["layer"] == "big"
    assert data["op_type"] == "conv" and "_big_" in data["op_name"] and not data["ambiguous"]
    assert data["max_abs"] is None and data["metrics"]["failures"] == ["candidate contains NaN/Inf"]
    assert any(e["name"] == "big" and e["overflow"] and e["max_abs"] > FP16_MAX for e in data["fp16_range"])
    # the ops to keep in fp32: the overflowing conv, its relu, and the mul that scales back down
    keep = data["keep_fp32"]
    assert selector_name(data["op_name"]) in keep and any("_down_" in n for n in keep)
    assert not any("_c1_" in n or "_c2_" in n for n in keep)
    assert "FP16ComputePrecision(op_selector=" in data["suggestion"] and selector_name(data["op_name"]) in data["suggestion"]

    # Apply the suggestion: the fp16 conversion now passes and nothing diverges.
    keep_set = set(keep)
    mlmodel = ct.convert([serving_function(ctx.model, ctx.io)], source="tensorflow", convert_to="mlprogram",
                         minimum_deployment_target=ct.target.iOS16,
                         compute_precision=ct.transform.FP16ComputePrecision(
                             op_selector=lambda op: op.name.replace("/", "_") not in keep_set))
    spec = mlmodel.get_spec()
    ct.utils.rename_feature(spec, spec.description.output[0].name, "out")
    fixed = out / "fixed.mlpackage"
    ct.models.MLModel(spec, weights_dir=mlmodel.weights_dir, skip_model_load=True).save(str(fixed))
    assert verify_artifact(ctx, fixed, "fp16", inputs, reference).passed
    assert localize_divergence(ctx, fixed, inputs, tolerance, "fp16") is None
