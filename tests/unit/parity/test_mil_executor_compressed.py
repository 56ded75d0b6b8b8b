"""Compressed weights (coremltools.optimize.coreml): palettization, linear quantization, pruning,
iOS16 and iOS18 op forms, joint compression.

Two independent checks per compressed model:
1. every constexpr_* output the executor computes equals coremltools' own decompression
   (`op.materialized_val_inference()`, which uses coremltools.optimize's helpers);
2. end to end: TensorFlow run with the *dequantized* weights (put back into the Keras model)
   matches the executor on the compressed program.
"""
from __future__ import annotations

import mobilekit  # noqa: F401

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
ct = pytest.importorskip("coremltools")
keras = pytest.importorskip("tf_keras")
cto = pytest.importorskip("coremltools.optimize.coreml")

from mobilekit.parity.mil import load_program, run_program  # noqa: E402
from mobilekit.parity.mil.program import iter_ops  # noqa: E402

THRESHOLD = 64  # compress every weight with at least this many elements


def _model():
    keras.utils.set_random_seed(3)
    i = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(i)
    x = keras.layers.Conv2D(24, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(8, 1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(i, keras.layers.Dense(10)(x))


@pytest.fixture(scope="module")
def base():
    model = _model()
    x = np.random.default_rng(5).standard_normal((1, 12, 12, 3)).astype(np.float32)
    fn = tf.function(lambda a: model(a, training=False)).get_concrete_function(tf.TensorSpec(x.shape, tf.float32, name="x"))
    converted = {
        target: ct.convert([fn], source="tensorflow", convert_to="mlprogram", minimum_deployment_target=target,
                           compute_precision=ct.precision.FLOAT32)
        for target in (ct.target.iOS16, ct.target.iOS18)
    }
    return model, x, converted


def _pal(**kw):
    pytest.importorskip("sklearn")  # kmeans palettization needs scikit-learn
    return lambda m: cto.palettize_weights(m, cto.OptimizationConfig(global_config=cto.OpPalettizerConfig(weight_threshold=THRESHOLD, **kw)))


def _quant(**kw):
    return lambda m: cto.linear_quantize_weights(m, cto.OptimizationConfig(global_config=cto.OpLinearQuantizerConfig(weight_threshold=THRESHOLD, **kw)))


def _prune(**kw):
    return lambda m: cto.prune_weights(m, cto.OptimizationConfig(global_config=cto.OpMagnitudePrunerConfig(weight_threshold=THRESHOLD, **kw)))


def _joint(first, second_cfg_fn, cfg):
    def apply(m):
        pruned = first(m)
        return second_cfg_fn(pruned, cto.OptimizationConfig(global_config=cfg), joint_compression=True)

    return apply


CASES = {
    # name: (target, compress fn, op types that must appear)
    "ios16_palettize_kmeans4": ("iOS16", lambda: _pal(mode="kmeans", nbits=4), {"constexpr_lut_to_dense"}),
    "ios16_quantize_int8_symmetric": ("iOS16", lambda: _quant(mode="linear_symmetric"), {"constexpr_affine_dequantize"}),
    "ios16_quantize_uint8_affine": ("iOS16", lambda: _quant(mode="linear", dtype="uint8"), {"constexpr_affine_dequantize"}),
    "ios16_prune_50": ("iOS16", lambda: _prune(target_sparsity=0.5), {"constexpr_sparse_to_dense"}),
    "ios18_palettize_kmeans4": ("iOS18", lambda: _pal(mode="kmeans", nbits=4), {"constexpr_lut_to_dense"}),
    "ios18_palettize_grouped2": ("iOS18", lambda: _pal(mode="kmeans", nbits=2, granularity="per_grouped_channel", group_size=4), {"constexpr_lut_to_dense"}),
    "ios18_palettize_vector": ("iOS18", lambda: _pal(mode="kmeans", nbits=3, cluster_dim=2), {"constexpr_lut_to_dense"}),
    "ios18_quantize_int8": ("iOS18", lambda: _quant(mode="linear_symmetric"), {"constexpr_blockwise_shift_scale"}),
    "ios18_quantize_int4_block": ("iOS18", lambda: _quant(mode="linear", dtype="int4", granularity="per_block", block_size=4), {"constexpr_blockwise_shift_scale"}),
    "ios18_prune_50": ("iOS18", lambda: _prune(target_sparsity=0.5), {"constexpr_sparse_to_dense"}),
    "ios18_prune_then_palettize": (
        "iOS18",
        lambda: _joint(_prune(target_sparsity=0.5), cto.palettize_weights, cto.OpPalettizerConfig(mode="kmeans", nbits=2, weight_threshold=THRESHOLD)),
        {"constexpr_lut_to_sparse", "constexpr_sparse_to_dense"},
    ),
    "ios18_prune_then_quantize": (
        "iOS18",
        lambda: _joint(_prune(target_sparsity=0.5), cto.linear_quantize_weights, cto.OpLinearQuantizerConfig(mode="linear_symmetric", weight_threshold=THRESHOLD)),
        {"constexpr_sparse_blockwise_shift_scale", "constexpr_sparse_to_dense"},
    ),
}


def _dequantized_weights(prog, res) -> list[np.ndarray]:
    """Final (dense) weights: constexpr outputs consumed by a computing op."""
    fn = prog.function()
    out = []
    for op in iter_ops(fn.operations):
        if not op.op_type.startswith("constexpr_"):
            continue
        for v in op.outputs:
            if any(not c.op_type.startswith("constexpr_") for c in v.child_ops):
                out.append(res.intermediates[v.name].astype(np.float32))
    return out


def _tf_with_weights(model, weights: list[np.ndarray]):
    """Copy of `model` whose kernels are replaced by the dequantized MIL weights (matched by shape)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    by_shape = {w.shape: w for w in weights}
    replaced = 0
    for layer in clone.layers:
        if not hasattr(layer, "kernel"):
            continue
        k = layer.kernel.numpy()
        if k.ndim == 4:  # keras [kh, kw, in, out] <- MIL conv weight [out, in, kh, kw]
            w = by_shape.get((k.shape[3], k.shape[2], k.shape[0], k.shape[1]))
            w = None if w is None else np.transpose(w, (2, 3, 1, 0))
        elif k.shape in by_shape:  # Dense kernel used as matmul `y` [in, out]
            w = by_shape[k.shape]
        else:  # or as linear weight [out, in]
            w = by_shape.get(k.shape[::-1])
            w = None if w is None else w.T
        if w is not None:
            layer.kernel.assign(w)
            replaced += 1
    return clone, replaced


@pytest.mark.parametrize("name", sorted(CASES))
def test_compressed_program(name, base, tmp_path):
    model, x, converted = base
    target, make, expected_ops = CASES[name]
    compressed = make()(converted[getattr(ct.target, target)])
    path = tmp_path / "c.mlpackage"
    compressed.save(str(path))
    prog = load_program(path)
    assert expected_ops <= set(prog.op_types()), prog.op_types()

    res = run_program(prog, {"x": x}, keep_intermediates=True)

    # 1. each constexpr op's outputs == coremltools' own decompression
    n_checked = 0
    for op in iter_ops(prog.function().operations):
        if not op.op_type.startswith("constexpr_"):
            continue
        expected = op.materialized_val_inference()
        expected = expected if isinstance(expected, tuple) else (expected,)
        for var, exp in zip(op.outputs, expected):
            got = res.intermediates[var.name]
            assert got.shape == np.shape(exp), (op.op_type, got.shape, np.shape(exp))
            np.testing.assert_allclose(got.astype(np.float64), np.asarray(exp, dtype=np.float64), rtol=1e-6, atol=1e-7,
                                       err_msg=f"{op.op_type} {op.name}")
            n_checked += 1
    assert n_checked >= 2

    # 2. end to end against TensorFlow run with the dequantized weights
    weights = _dequantized_weights(prog, res)
    clone, replaced = _tf_with_weights(model, weights)
    assert replaced == len(weights) >= 2
    changed = max(float(np.abs(a - b).max()) for a, b in zip(clone.get_weights(), model.get_weights()))
    assert changed > 0, "compression left the weights untouched; the test would prove nothing"
    ref = clone(x, training=False).numpy()
    (out_name,) = [o["name"] for o in prog.outputs]
    out = res.outputs[out_name]
    assert np.abs(out - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())
    # and the compression is visible against the uncompressed model
    assert np.abs(out - model(x, training=False).numpy()).max() > 1e-6


def test_constexpr_ops_are_cached_and_traced(base, tmp_path):
    model, x, converted = base
    compressed = _quant(mode="linear_symmetric")(converted[ct.target.iOS18])
    prog = load_program(compressed)
    first = run_program(prog, {"x": x})
    second = run_program(prog, {"x": x})
    types_traced = [t for _, t, _ in second.op_trace]
    assert "constexpr_blockwise_shift_scale" in types_traced
    out = prog.outputs[0]["name"]
    np.testing.assert_array_equal(first.outputs[out], second.outputs[out])
