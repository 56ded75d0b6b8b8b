"""mobilekit.shaders.reference == TensorFlow (within 1e-5) for the ops TF has, properties of the
others, and the committed Swift fixtures are what `write_fixtures` produces."""
from __future__ import annotations

import math

import numpy as np
import pytest

import mobilekit  # noqa: F401  (before TensorFlow)
from mobilekit.core.errors import InputError
from mobilekit.shaders import fixtures as fx
from mobilekit.shaders import reference as ref

ATOL = 1e-5


@pytest.fixture(scope="module")
def tf():
    from mobilekit.core.tf import tf_and_keras

    return tf_and_keras()[0]


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(123)
    return {
        "unit": rng.random((2, 9, 11, 3), dtype=np.float32),
        "signed": (rng.standard_normal((1, 12, 7, 2)) * 3).astype(np.float32),
        "mask": (rng.random((1, 10, 13, 1)) > 0.6).astype(np.float32),
    }


def _maxdiff(a, b) -> float:
    assert a.shape == b.shape
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if a.size else 0.0


# --------------------------------------------------------------------------- morphology


@pytest.mark.parametrize("op", ["erosion2d", "dilation2d"])
@pytest.mark.parametrize("kh,kw", [(1, 1), (3, 3), (5, 5), (7, 3), (3, 9)])
@pytest.mark.parametrize("name", ["unit", "signed", "mask"])
def test_flat_morphology_matches_tf(tf, images, op, kh, kw, name):
    x = images[name]
    zeros = np.zeros((kh, kw, x.shape[3]), np.float32)
    want = getattr(tf.nn, op)(x, zeros, [1, 1, 1, 1], "SAME", "NHWC", [1, 1, 1, 1]).numpy()
    got = getattr(ref, op)(x, kh, kw)
    assert _maxdiff(got, want) <= ATOL


@pytest.mark.parametrize("op", ["erosion2d", "dilation2d"])
def test_weighted_morphology_matches_tf(tf, images, op):
    x = images["signed"]
    f = np.random.default_rng(5).normal(0, 1, (3, 5, x.shape[3])).astype(np.float32)
    want = getattr(tf.nn, op)(x, f, [1, 1, 1, 1], "SAME", "NHWC", [1, 1, 1, 1]).numpy()
    assert _maxdiff(getattr(ref, op)(x, filters=f), want) <= ATOL


def test_flat_erosion_is_window_min_ignoring_outside(images):
    x = images["unit"][0]
    e, d = ref.erosion2d(x, 3, 5), ref.dilation2d(x, 3, 5)
    h, w, _ = x.shape
    for y in range(h):
        for xx in range(w):
            win = x[max(0, y - 1) : y + 2, max(0, xx - 2) : xx + 3]
            np.testing.assert_array_equal(e[y, xx], win.min(axis=(0, 1)))
            np.testing.assert_array_equal(d[y, xx], win.max(axis=(0, 1)))


def test_morphology_rejects_even_kernels(images):
    with pytest.raises(InputError):
        ref.erosion2d(images["unit"], 4)


# --------------------------------------------------------------------------- resize

SIZES = [(18, 22), (27, 5), (4, 6), (9, 11), (1, 1), (3, 40), (13, 17)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["unit", "signed"])
def test_bicubic_matches_tf(tf, images, size, name):
    x = images[name]
    want = tf.image.resize(x, size, method="bicubic", antialias=False).numpy()
    assert _maxdiff(ref.resize_bicubic(x, size), want) <= ATOL


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["unit", "signed"])
def test_area_matches_tf(tf, images, size, name):
    x = images[name]
    want = tf.image.resize(x, size, method="area").numpy()
    assert _maxdiff(ref.resize_area(x, size), want) <= ATOL


def test_bicubic_border_renormalises_instead_of_replicating(tf):
    """TF gives out-of-image taps weight 0 and renormalises; edge replication would differ."""
    x = np.zeros((1, 1, 6, 1), np.float32)
    x[0, 0, 0, 0] = 1.0
    got = ref.resize_bicubic(x, (1, 12))[0, 0, :, 0]
    want = tf.image.resize(x, (1, 12), method="bicubic").numpy()[0, 0, :, 0]
    assert _maxdiff(got, want) <= ATOL
    # output 0 samples at -0.25: taps -2, -1 (outside), 0, 1 -> renormalised w(0) / (w(0) + w(1))
    idx, w = ref.bicubic_coeffs(0, np.float32(0.5), 6)
    assert idx == [0, 0, 0, 1] and w[0] == 0 and w[1] == 0 and math.isclose(float(w[2] + w[3]), 1.0, rel_tol=1e-6)


def test_bicubic_phase_is_quantised_to_1024ths():
    """TF looks weights up in a 1025-entry table (lrintf(delta * 1024)); reference does the same."""
    idx, w = ref.bicubic_coeffs(5, np.float32(1 / 3), 50)  # in = 5.5 / 3 - 0.5 = 1.333.., delta 1/3
    assert idx == [0, 1, 2, 3]
    k0, k1 = ref.bicubic_table_entry(341)  # lrintf(1024 / 3) = 341
    u0, u1 = ref.bicubic_table_entry(1024 - 341)
    np.testing.assert_allclose(w, [k1, k0, u0, u1], atol=1e-7)

    def keys(t):  # exact Keys kernel, a = -0.5
        t = abs(t)
        return 1.5 * t**3 - 2.5 * t**2 + 1 if t <= 1 else -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2

    exact = [keys(1 + 1 / 3), keys(1 / 3), keys(2 / 3), keys(1 + 2 / 3)]
    assert max(abs(float(a) - b) for a, b in zip(w, exact)) > 1e-4  # the quantisation is visible


def test_area_downscale_by_integer_factor_is_block_mean(images):
    x = images["unit"][:, :8, :10]
    got = ref.resize_area(x, (4, 5))
    want = x.reshape(2, 4, 2, 5, 2, 3).mean(axis=(2, 4))
    assert _maxdiff(got, want) <= 1e-6


# --------------------------------------------------------------------------- stitch


def test_stitch_binary_mask_is_exact_select(images):
    o = images["unit"][:1]
    p = 1.0 - o
    m = (np.random.default_rng(1).random((1, 9, 11, 1)) > 0.5).astype(np.float32)
    np.testing.assert_array_equal(ref.stitch(o, p, m), np.where(m > 0.5, p, o))


def test_stitch_soft_mask_clamps_and_ignores_nan():
    o = np.full((2, 2, 1), 2.0, np.float32)
    p = np.full((2, 2, 1), 4.0, np.float32)
    m = np.array([[-1.0, 0.25], [np.nan, 3.0]], np.float32)
    np.testing.assert_array_equal(ref.stitch(o, p, m)[..., 0], [[2.0, 2.5], [2.0, 4.0]])


# --------------------------------------------------------------------------- click maps


def test_click_maps_match_data_encoding():
    from mobilekit.families.segmentation.clicks import Click, encode_click_maps, normalize_click_maps

    clicks = [Click(3, 4, True), Click(12, 15, True), Click(8, 1, False), Click(0, 19, False)]
    np.testing.assert_array_equal(ref.click_maps(clicks, 16, 20), encode_click_maps(clicks, 16, 20))
    np.testing.assert_array_equal(ref.click_maps_normalized(clicks, 16, 20), normalize_click_maps(encode_click_maps(clicks, 16, 20)))


def test_click_maps_definition():
    C = ref.RefClick
    m = ref.click_maps([C(0, 0, True)], 300, 300)
    assert m[0, 0, 0] == 0 and m[3, 4, 0] == 5 and m[299, 299, 0] == 255 and np.all(m[..., 1] == 255)
    assert m.dtype == np.float32 and m.shape == (300, 300, 2)
    n = ref.click_maps_normalized([C(0, 0, False)], 4, 4)
    assert n[0, 0, 1] == 0 and n[3, 4 - 1, 1] == np.float32(np.sqrt(np.float32(18))) / np.float32(255)
    assert np.all(n[..., 0] == 1)
    with pytest.raises(InputError):
        ref.click_maps([C(4, 0, True)], 4, 4)


# --------------------------------------------------------------------------- depth of field


def test_dof_radius_rounds_half_up_and_clamps():
    d = np.array([0.5, 0.75, 0.7, 1.5, np.nan, 0.2], np.float32)
    # |d - 0.5| * 10 = 0, 2.5, 2.0, 10, nan, 3.0
    np.testing.assert_array_equal(ref.dof_radius(d, 0.5, 10.0, 4), [0, 3, 2, 4, 0, 3])


def test_depth_of_field_is_mean_of_clipped_window(images):
    img = images["unit"][0]
    h, w, _ = img.shape
    depth = np.random.default_rng(2).random((h, w)).astype(np.float32)
    got = ref.depth_of_field(img, depth, 0.5, 6.0, 3)
    r = ref.dof_radius(depth, 0.5, 6.0, 3)
    for y in range(h):
        for x in range(w):
            k = r[y, x]
            win = img[max(0, y - k) : y + k + 1, max(0, x - k) : x + k + 1].astype(np.float64)
            np.testing.assert_allclose(got[y, x], win.mean(axis=(0, 1)), atol=1e-6)


def test_depth_of_field_zero_radius_is_identity(images):
    img = images["unit"]
    depth = np.full(img.shape[:3], 0.3, np.float32)
    np.testing.assert_array_equal(ref.depth_of_field(img, depth, 0.3, 50.0, 9), img)


# --------------------------------------------------------------------------- fixtures


def test_fixtures_are_deterministic_and_committed_copy_is_current(tmp_path):
    a = fx.write_fixtures(tmp_path / "a", seed=0).parent
    b = fx.write_fixtures(tmp_path / "b", seed=0).parent
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    total = sum((a / n).stat().st_size for n in names)
    assert total < 1_000_000, f"fixtures too large: {total} bytes"
    committed = fx.DEFAULT_DIR
    if not committed.is_dir():
        pytest.skip(f"{committed} not present")
    stale = [n for n in names if not (committed / n).is_file() or (committed / n).read_bytes() != (a / n).read_bytes()]
    extra = sorted(p.name for p in committed.iterdir() if p.name not in names)
    assert not stale and not extra, (
        f"swift_shaders fixtures are stale (differ: {stale[:5]}, extra: {extra[:5]}); "
        "regenerate with `PYTHONPATH=. python -m mobilekit.shaders.fixtures`"
    )


def test_fixture_expectations_match_reference_for_tf_ops():
    """The TF-sourced fixture outputs also equal mobilekit.shaders.reference (ties the three implementations together)."""
    for case in fx.build_cases(seed=0):
        if case["source"] != "tensorflow":
            continue
        x, p = case["inputs"]["x"], case["params"]
        if case["op"] in ("erosion2d", "dilation2d"):
            got = getattr(ref, case["op"])(x, p["kernel_height"], p["kernel_width"], case["inputs"].get("filter"))
        else:
            got = getattr(ref, case["op"])(x, (p["height"], p["width"]))
        assert _maxdiff(got, case["outputs"]["y"]) <= case["atol"], case["name"]
