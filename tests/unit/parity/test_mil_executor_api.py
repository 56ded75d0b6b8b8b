"""Executor API behaviour: refusals, unknown ops, custom ops, determinism, trace, fp16 emulation,
multifunction programs."""
from __future__ import annotations

import mobilekit  # noqa: F401

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
ct = pytest.importorskip("coremltools")
keras = pytest.importorskip("tf_keras")

from coremltools.converters.mil import Builder as mb  # noqa: E402

from mobilekit.core.errors import InputError  # noqa: E402
from mobilekit.core.registry import Registry  # noqa: E402
from mobilekit.parity.mil import MIL_OPS, MilExecutionError, MilProgram, MilRunResult, load_program, run_program  # noqa: E402


@pytest.fixture(scope="module")
def small():
    keras.utils.set_random_seed(9)
    i = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(i)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)
    model = keras.Model(i, keras.layers.Conv2D(4, 1, activation="tanh")(x))
    fn = tf.function(lambda a: model(a, training=False)).get_concrete_function(tf.TensorSpec((1, 10, 10, 3), tf.float32, name="x"))
    fp32 = ct.convert([fn], source="tensorflow", convert_to="mlprogram", compute_precision=ct.precision.FLOAT32)
    fp16 = ct.convert([fn], source="tensorflow", convert_to="mlprogram", compute_precision=ct.precision.FLOAT16)
    x = np.random.default_rng(0).standard_normal((1, 10, 10, 3)).astype(np.float32)
    return model, fp32, fp16, x


def test_types_and_registry():
    assert issubclass(MilExecutionError, InputError)
    assert isinstance(MIL_OPS, Registry)
    for op_type in ("conv", "conv_transpose", "max_pool", "avg_pool", "batch_norm", "upsample_bilinear", "resize_bilinear",
                    "constexpr_lut_to_dense", "constexpr_affine_dequantize", "constexpr_sparse_to_dense",
                    "constexpr_blockwise_shift_scale", "slice_by_index", "gather", "pad", "softmax", "gelu", "cast"):
        assert op_type in MIL_OPS


def test_description_and_result(small, tmp_path):
    _, fp32, _, x = small
    path = tmp_path / "s.mlpackage"
    fp32.save(str(path))
    prog = load_program(path)
    assert isinstance(prog, MilProgram)
    assert prog.inputs == [
        {"name": "x", "shape": (1, 10, 10, 3), "dtype": "float32", "kind": "tensor", "color_layout": None,
         "flexible": False, "program_dtype": "fp32"}
    ]
    assert [(o["name"], o["shape"], o["dtype"]) for o in prog.outputs] == [("Identity", (1, 5, 5, 4), "float32")]
    assert prog.compute_precision == "fp32"
    assert prog.missing_ops() == []
    res = run_program(prog, {"x": x}, keep_intermediates=True)
    assert isinstance(res, MilRunResult)
    assert list(res.outputs) == ["Identity"]
    # every non-const op is traced once, in program order, and its outputs are kept
    program_ops = [op for op in prog.function().operations if op.op_type != "const"]
    assert [(n, t) for n, t, _ in res.op_trace] == [(op.name, op.op_type) for op in program_ops]
    for _, _, outs in res.op_trace:
        for name in outs:
            assert name in res.intermediates
    assert np.array_equal(res.intermediates["Identity"], res.outputs["Identity"])
    assert run_program(prog, {"x": x}).intermediates == {}


def test_determinism(small):
    _, fp32, fp16, x = small
    for mlmodel in (fp32, fp16):
        prog = load_program(mlmodel)
        a = run_program(prog, {"x": x}, keep_intermediates=True)
        b = run_program(load_program(mlmodel), {"x": x}, keep_intermediates=True)
        c = run_program(prog, {"x": x.copy()}, keep_intermediates=True)
        for other in (b, c):
            assert other.op_trace == a.op_trace
            for k in a.intermediates:
                assert a.intermediates[k].tobytes() == other.intermediates[k].tobytes()


def test_fp16_rounds_every_op_output(small):
    """Independent TF reference with a float16 round trip after every op of the fp16 program."""
    model, _, fp16, x = small
    prog = load_program(fp16)
    assert prog.compute_precision == "fp16"
    res = run_program(prog, {"x": x}, keep_intermediates=True)
    out = res.outputs["Identity"].astype(np.float32)

    def r16(t):
        return tf.cast(tf.cast(t, tf.float16), tf.float32)

    conv1, dw, conv2 = [layer for layer in model.layers if layer.weights]
    k1, b1 = [r16(w) for w in conv1.get_weights()]
    kd, bd = [r16(w) for w in dw.get_weights()]
    k2, b2 = [r16(w) for w in conv2.get_weights()]
    h = r16(x)
    h = r16(tf.nn.conv2d(h, k1, 1, "SAME") + b1)  # conv (bias fused) -> fp16
    h = tf.nn.relu(h)  # exact in fp16
    h = r16(tf.nn.depthwise_conv2d(h, kd, [1, 2, 2, 1], "SAME") + bd)
    h = r16(tf.nn.conv2d(h, k2, 1, "VALID") + b2)
    ref = r16(tf.tanh(h)).numpy()
    # same value, or one fp16 ulp apart where fp32 summation order flips a rounding
    ulp = np.spacing(np.abs(ref).astype(np.float16)).astype(np.float32)
    diff = np.abs(out - ref)
    assert np.all(diff <= ulp * 1.01)
    assert np.mean(diff > 0) < 0.02
    # and it is not plain fp32 arithmetic
    assert np.abs(out - model(x, training=False).numpy()).max() > 1e-5
    fp16_vars = [k for k, v in res.intermediates.items() if v.dtype == np.float16]
    assert len(fp16_vars) >= 4


def test_refuses_missing_corrupt_and_neuralnetwork(small, tmp_path):
    model, _, _, x = small
    with pytest.raises(MilExecutionError, match="no such model"):
        load_program(tmp_path / "nope.mlpackage")
    bogus = tmp_path / "bogus.mlpackage"
    bogus.mkdir()
    (bogus / "Manifest.json").write_text("{not json")
    with pytest.raises(MilExecutionError):
        load_program(bogus)
    garbage = tmp_path / "garbage.mlmodel"
    garbage.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(MilExecutionError):
        load_program(garbage)
    fn = tf.function(lambda a: model(a, training=False)).get_concrete_function(tf.TensorSpec((1, 10, 10, 3), tf.float32, name="x"))
    nn = ct.convert([fn], source="tensorflow", convert_to="neuralnetwork")
    nn_path = tmp_path / "nn.mlmodel"
    nn.save(str(nn_path))
    with pytest.raises(MilExecutionError, match="not an ML program"):
        load_program(nn_path)


def _random_program():
    @mb.program(input_specs=[mb.TensorSpec(shape=(2, 3))], opset_version=ct.target.iOS16)
    def prog(x):
        noise = mb.random_uniform(shape=np.array([2, 3], np.int32), low=0.0, high=1.0, seed=3, name="noise_op")
        return mb.add(x=x, y=noise)

    return ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16,
                      compute_precision=ct.precision.FLOAT32)


def test_unknown_op_is_an_error_naming_it():
    prog = load_program(_random_program())
    assert "random_uniform" not in MIL_OPS
    assert ("random_uniform", "noise_op") in prog.missing_ops()
    with pytest.raises(MilExecutionError, match=r"random_uniform.*noise_op"):
        run_program(prog, {"x": np.zeros((2, 3), np.float32)})


def test_custom_op_registration():
    prog = load_program(_random_program())
    calls = []

    def fake_random(call):
        calls.append(call.name)
        shape = [int(s) for s in np.asarray(call["shape"]).reshape(-1)]
        return np.full(shape, 0.25, np.float32)

    MIL_OPS.register("random_uniform", fake_random)
    try:
        res = run_program(prog, {"x": np.ones((2, 3), np.float32)})
    finally:
        MIL_OPS._entries.pop("random_uniform")  # keep the global registry clean for other tests
    assert calls == ["noise_op"]
    np.testing.assert_array_equal(list(res.outputs.values())[0], np.full((2, 3), 1.25, np.float32))
    with pytest.raises(KeyError):
        MIL_OPS.register("conv", fake_random)  # duplicates refused unless override=True


def test_failing_op_is_reported_with_its_name(small):
    _, fp32, _, x = small
    prog = load_program(fp32)
    original = MIL_OPS.get("tanh")

    def broken(call):
        raise ValueError("boom")

    MIL_OPS.register("tanh", broken, override=True)
    try:
        with pytest.raises(MilExecutionError, match=r"\(tanh\) failed: ValueError: boom"):
            run_program(prog, {"x": x})
        # an implementation returning the wrong shape is caught against the program's declared type
        MIL_OPS.register("tanh", lambda call: call["x"][..., :2], override=True)
        with pytest.raises(MilExecutionError, match="declares"):
            run_program(prog, {"x": x})
    finally:
        MIL_OPS.register("tanh", original, override=True)
    run_program(prog, {"x": x})


def test_multifunction_program(tmp_path):
    keras.utils.set_random_seed(1)
    i = keras.Input((8, 8, 3))
    feat = keras.layers.Conv2D(4, 3, padding="same")(i)
    heads = {"depth": keras.Model(i, keras.layers.Conv2D(1, 1)(feat)), "seg": keras.Model(i, keras.layers.Conv2D(2, 1, activation="sigmoid")(feat))}
    desc = ct.utils.MultiFunctionDescriptor()
    for name, model in heads.items():
        fn = tf.function(lambda a, m=model: m(a, training=False)).get_concrete_function(tf.TensorSpec((1, 8, 8, 3), tf.float32, name="x"))
        path = tmp_path / f"{name}.mlpackage"
        ct.convert([fn], source="tensorflow", convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18,
                   compute_precision=ct.precision.FLOAT32).save(str(path))
        desc.add_function(str(path), src_function_name="main", target_function_name=name)
    desc.default_function_name = "seg"
    multi = tmp_path / "multi.mlpackage"
    ct.utils.save_multifunction(desc, str(multi))
    prog = load_program(multi)
    assert sorted(prog.functions) == ["depth", "seg"] and prog.default_function == "seg"
    x = np.random.default_rng(2).standard_normal((1, 8, 8, 3)).astype(np.float32)
    for name, model in heads.items():
        res = run_program(prog, {"x": x}, function=name)
        (out,) = res.outputs.values()
        assert res.function == name
        assert np.abs(out - model(x, training=False).numpy()).max() <= 1e-5
    assert run_program(prog, {"x": x}).function == "seg"  # "main" falls back to the default function
    with pytest.raises(MilExecutionError, match="no function"):
        run_program(prog, {"x": x}, function="nope")
