"""Each exact decomposition equals the TF op it replaces (max abs ≤ 1e-5 on [0, 1] data, borders
included; morphology and pooling bit-exact), and applies exactly where it claims to."""
from __future__ import annotations

import numpy as np
import pytest

from mobilekit.convert.ops import decompose as dec
from mobilekit.convert.ops.lowering import lowering
from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.layers import Dilation2D, Erosion2D, ResizeArea, ResizeBicubic
from mobilekit.shaders import reference as ref

tf, keras = tf_and_keras()
TOL = 1e-5


def _lowered(layer, x: np.ndarray, target: str = "coreml"):
    """(TF op output, lowered output, rules applied, op types of the lowered graph)."""
    reference = layer(tf.constant(x)).numpy()

    @tf.function
    def run(t):
        return layer(t)

    with lowering(target) as active:
        fn = run.get_concrete_function(tf.TensorSpec(x.shape, tf.float32))
    ops = {n.op for n in fn.graph.as_graph_def().node}
    return reference, fn(tf.constant(x)).numpy(), [r.rule for r in active.records], ops


@pytest.mark.parametrize("layer_cls,kernel,shape", [
    (Erosion2D, 3, (1, 16, 16, 3)), (Erosion2D, (3, 5), (1, 17, 13, 1)), (Erosion2D, 4, (2, 9, 9, 2)),
    (Dilation2D, 5, (1, 16, 16, 2)), (Dilation2D, (1, 3), (1, 5, 7, 1)),
])
def test_flat_morphology_is_maxpool_bit_exact(layer_cls, kernel, shape):
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    want, got, rules, ops = _lowered(layer_cls(kernel), x)
    assert rules == ["flat-element-as-maxpool"] and "Dilation2D" not in ops and "MaxPool" in ops
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("in_hw,out_hw", [((16, 16), (32, 32)), ((16, 12), (48, 24)), ((5, 7), (20, 14)),
                                          ((1, 3), (3, 9)), ((3, 3), (30, 30)), ((7, 9), (35, 45)), ((8, 8), (8, 16))])
def test_bicubic_integer_upscale_matches_tf(in_hw, out_hw):
    x = np.random.default_rng(1).random((1, *in_hw, 3), dtype=np.float32)
    want, got, rules, ops = _lowered(ResizeBicubic(out_hw), x)
    assert rules == ["integer-upscale-as-transposed-conv"] and "ResizeBicubic" not in ops
    assert np.abs(got - want).max() <= TOL
    # borders (where TF renormalises) are exact too, not just the interior
    assert np.abs(got[:, :3] - want[:, :3]).max() <= TOL and np.abs(got[:, :, -3:] - want[:, :, -3:]).max() <= TOL


@pytest.mark.parametrize("target", ["coreml", "tflite"])
@pytest.mark.parametrize("in_hw,out_hw", [((32, 32), (16, 16)), ((32, 24), (8, 6)), ((9, 15), (3, 5)), ((6, 6), (6, 6))])
def test_area_integer_downscale_is_avgpool(in_hw, out_hw, target):
    x = np.random.default_rng(2).random((1, *in_hw, 2), dtype=np.float32)
    want, got, rules, ops = _lowered(ResizeArea(out_hw), x, target)
    assert rules == ["integer-downscale-as-avgpool"] and "ResizeArea" not in ops
    assert np.abs(got - want).max() <= TOL


@pytest.mark.parametrize("in_hw,out_hw", [((16, 16), (12, 12)), ((16, 16), (24, 24)), ((7, 13), (5, 4)), ((5, 5), (11, 3))])
def test_area_any_size_matrices_on_tflite(in_hw, out_hw):
    x = np.random.default_rng(3).random((1, *in_hw, 3), dtype=np.float32)
    want, got, rules, ops = _lowered(ResizeArea(out_hw), x, "tflite")
    assert rules == ["any-size-as-matrices"] and "ResizeArea" not in ops and "BatchMatMulV2" in ops
    assert np.abs(got - want).max() <= TOL


def test_rules_do_not_apply_where_inexact():
    x = np.random.default_rng(4).random((1, 16, 16, 3), dtype=np.float32)
    element = np.random.default_rng(5).random((3, 3, 3)).astype(np.float32)
    for layer in (ResizeBicubic((24, 24)), ResizeBicubic((8, 8)), ResizeArea((12, 12)), Erosion2D(structuring_element=element)):
        want, got, rules, ops = _lowered(layer, x, "coreml")
        assert rules == [] and {"ResizeBicubic", "ResizeArea", "Dilation2D"} & ops  # the TF op stays (kernel route)
        np.testing.assert_array_equal(got, want)


def test_bicubic_kernel_reproduces_tf_weight_table():
    """The transposed-conv kernel × normalisation gives TF's (reference) weights for every output."""
    for n_in, k in ((1, 2), (4, 2), (16, 2), (5, 3), (7, 4), (6, 5)):
        n_out = n_in * k
        axis = dec.bicubic_axis_kernel(n_in, n_out)
        assert axis is not None and axis.factor == k
        scale = np.float32(np.float32(n_in) / np.float32(n_out))
        for o in range(n_out):
            idx, wts = ref.bicubic_coeffs(o, scale, n_in)
            got = {}
            for m in range(n_in):
                j = o - k * m + axis.offset
                if 0 <= j < len(axis.kernel) and axis.kernel[j] != 0:
                    got[m] = float(axis.kernel[j] * axis.inv[o])
            want = {}
            for i, w in zip(idx, wts):
                if w != 0:
                    want[i] = want.get(i, 0.0) + float(w)
            assert got.keys() == want.keys(), (n_in, k, o)
            assert max(abs(got[m] - want[m]) for m in got) <= 1e-6
    assert dec.bicubic_axis_kernel(16, 24) is None and dec.bicubic_axis_kernel(16, 8) is None


def test_area_matrix_rows_are_tf_coverages():
    a = dec.area_axis_matrix(16, 12)
    np.testing.assert_allclose(a.sum(axis=1), 16 / 12, rtol=1e-6)  # each output covers in/out source cells
    assert np.array_equal(dec.area_axis_matrix(8, 4), np.kron(np.eye(4), np.ones((1, 2))).astype(np.float32))
