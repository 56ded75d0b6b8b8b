"""Exact decompositions of ops the converters lack, into ops both Core ML and TFLite convert.

Each function takes an NHWC float32 tensor and returns what the TF op returns, built from ops in
coremltools' TF frontend and in the TFLite builtins (max/avg pooling, transposed convolution,
strided slices, batch matmul, transposes, reshapes, elementwise mul/neg). Weights are derived from
the NumPy definitions in `mobilekit.shaders.reference` (which mirror TF's kernels) so the
decomposition reproduces TF's rounding tables, not a textbook formula. Equality to the TF op is
proven in `tests/unit/test_op_decompositions.py` (max abs error ≤ 1e-5 on [0, 1] data, borders
included; the morphology and pooling rules are bit-exact).

- **Flat morphology**: TF's Dilation2D with a zero structuring element, strides/rates 1 and SAME
  padding is the window max over in-image pixels (start value -FLT_MAX, out-of-image taps
  skipped); `max_pool` with SAME padding also ignores the padding, so dilation = max_pool(x) and
  erosion (TF: -dilation2d(-x, reverse(f))) = -max_pool(-x). Bit-exact.
- **Area downscale by integer factors** (in % out == 0 on both axes): every output cell covers
  exactly kh×kw source cells with coverage 1, so ResizeArea = avg_pool(kh×kw, stride kh×kw, VALID)
  (TF multiplies the sum by 1/(kh·kw), pooling divides by kh·kw: equal up to one rounding).
- **Bicubic upscale by integer factors** (out % in == 0 on both axes): TF's weights depend only on
  the output phase (o mod k) — the fractional source offset of each phase, quantised to TF's
  1/1024 table — so each axis is a stride-k transposed convolution with one fixed 1-D kernel,
  *except* that TF gives out-of-image taps weight 0 and renormalises the remaining weights. A
  transposed convolution of the unpadded input also leaves out-of-image taps out, so the border
  handling is exact once each output row/column is multiplied by TF's normalisation factor
  1/sum(in-image raw weights) (a constant per output index; ≈1 in the interior). The kernel is
  derived from TF's table for the actual sizes and checked to be phase-periodic; when it is not
  (float rounding of the scale for some non-power-of-two factors) the rule does not apply and the
  kernel route is used. Channels are folded into the batch so the convolution is depthwise.
  Axes are processed y first, then x, as TF does.
- **Area resize for any factor, as two matrices** (TFLite fallback: ResizeArea is not in the
  TFLite Select-TF-ops allowlist): ResizeArea is separable and linear, out = A_y · X · A_xᵀ ·
  1/(sh·sw) with TF's fractional coverages (and its border clamping) in A. Exact, but dense:
  O(H_in) + O(W_in) multiply-adds per output value, so it is only the last resort.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mobilekit.shaders import reference as ref

F32 = np.float32


# --------------------------------------------------------------------------- weights (NumPy)


def _bicubic_raw_taps(o: int, scale: np.float32, limit: int) -> tuple[list[tuple[int, np.float32]], np.float32]:
    """In-image taps (index, raw table weight) of output `o` and TF's normalisation factor
    (the arithmetic of `reference.bicubic_coeffs`, stopping before the weights are scaled)."""
    in_f = (F32(o) + F32(0.5)) * F32(scale) - F32(0.5)
    in_loc = int(np.floor(in_f))
    delta = F32(in_f - F32(in_loc))
    off = int(np.rint(F32(delta * F32(ref.BICUBIC_TABLE_SIZE))))
    t0, t1 = ref.bicubic_table_entry(off)
    u0, u1 = ref.bicubic_table_entry(ref.BICUBIC_TABLE_SIZE - off)
    raw = [t1, t0, u0, u1]
    taps, weights = [], []
    for k in range(4):
        want = in_loc - 1 + k
        inside = 0 <= want < limit
        weights.append(raw[k] if inside else F32(0.0))
        if inside:
            taps.append((want, raw[k]))
    s = F32(F32(F32(weights[0] + weights[1]) + weights[2]) + weights[3])
    inv = F32(F32(1.0) / s) if abs(float(s)) >= 1000.0 * ref.FLT_MIN else F32(1.0)
    return taps, inv


@dataclass(frozen=True)
class AxisKernel:
    """One axis of an integer bicubic upscale: out[o] = inv[o] · Σ_m x[m] · kernel[o - k·m + offset]."""

    factor: int
    kernel: np.ndarray  # (L,) float32
    offset: int  # = -d_min: where output 0 sits in the VALID transposed convolution
    inv: np.ndarray  # (n_out,) float32 normalisation per output index


def bicubic_axis_kernel(n_in: int, n_out: int) -> AxisKernel | None:
    """The transposed-convolution form of TF's bicubic weights along one axis, or None when the
    upscale is not by an integer factor or TF's weights are not phase-periodic."""
    if n_in <= 0 or n_out <= 0 or n_out % n_in:
        return None
    k = n_out // n_in
    scale = F32(F32(n_in) / F32(n_out))
    by_offset: dict[int, np.float32] = {}
    inv = np.ones(n_out, np.float32)
    for o in range(n_out):
        taps, inv[o] = _bicubic_raw_taps(o, scale, n_in)
        for m, w in taps:
            d = o - k * m
            if by_offset.setdefault(d, w) != w:
                return None  # not periodic: no single kernel reproduces TF's weights
    # Output o (phase r = o mod k) meets exactly the offsets d ≡ r (mod k) of its own 4 taps, so
    # zero-filled gaps in the kernel only add 0·x terms.
    d_min, d_max = min(by_offset), max(by_offset)
    if d_min > 0:
        d_min = 0
    kernel = np.zeros(d_max - d_min + 1, np.float32)
    for d, w in by_offset.items():
        kernel[d - d_min] = w
    return AxisKernel(k, kernel, -d_min, inv)


def area_axis_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) coverage matrix of TF's ResizeArea along one axis (clamped indices summed)."""
    scale = F32(F32(n_in) / F32(n_out))
    a = np.zeros((n_out, n_in), np.float32)
    for o in range(n_out):
        lo, hi = F32(F32(o) * scale), F32(F32(o + 1) * scale)
        for i in range(int(np.floor(lo)), int(np.ceil(hi))):
            a[o, min(n_in - 1, max(0, i))] += ref.area_coverage(i, lo, hi, scale)
    return a


def area_inverse_scale(in_hw: tuple[int, int], out_hw: tuple[int, int]) -> np.float32:
    sh, sw = F32(F32(in_hw[0]) / F32(out_hw[0])), F32(F32(in_hw[1]) / F32(out_hw[1]))
    return F32(1.0 / float(F32(sh * sw)))  # TF: float scale = 1.0 / (hs * ws), double division


# --------------------------------------------------------------------------- TF graphs


def flat_morphology(x, kernel_hw: tuple[int, int], erosion: bool):
    """Dilation (max_pool) or erosion (-max_pool(-x)) with a flat kh×kw element, SAME padding."""
    import tensorflow as tf

    if erosion:
        return tf.negative(tf.nn.max_pool2d(tf.negative(x), kernel_hw, 1, "SAME"))
    return tf.nn.max_pool2d(x, kernel_hw, 1, "SAME")


def area_integer_downscale(x, in_hw: tuple[int, int], out_hw: tuple[int, int]):
    import tensorflow as tf

    kh, kw = in_hw[0] // out_hw[0], in_hw[1] // out_hw[1]
    if (kh, kw) == (1, 1):
        return tf.identity(x)
    return tf.nn.avg_pool2d(x, (kh, kw), (kh, kw), "VALID")


def _fold_channels(x, shape):
    import tensorflow as tf

    n, h, w, c = shape
    return tf.reshape(tf.transpose(x, (0, 3, 1, 2)), (n * c, h, w, 1))


def _unfold_channels(y, n: int, c: int):
    import tensorflow as tf

    _, h, w, _ = y.shape
    return tf.transpose(tf.reshape(y, (n, c, h, w)), (0, 2, 3, 1))


def _upsample_axis(y, axis_kernel: AxisKernel, axis: int):
    """One axis (1 = rows, 2 = columns) of the bicubic upscale on a channel-folded (B, H, W, 1) tensor."""
    import tensorflow as tf

    b, h, w, _ = y.shape
    k, length = axis_kernel.factor, len(axis_kernel.kernel)
    n_in = h if axis == 1 else w
    n_out = n_in * k
    full = (n_in - 1) * k + length
    filt = axis_kernel.kernel.reshape((length, 1, 1, 1) if axis == 1 else (1, length, 1, 1))
    out_shape = (b, full, w, 1) if axis == 1 else (b, h, full, 1)
    strides = (1, k, 1, 1) if axis == 1 else (1, 1, k, 1)
    z = tf.nn.conv2d_transpose(y, tf.constant(filt), out_shape, strides, padding="VALID")
    start = axis_kernel.offset
    z = z[:, start : start + n_out] if axis == 1 else z[:, :, start : start + n_out]
    if not np.all(axis_kernel.inv == 1.0):
        inv = axis_kernel.inv.reshape((1, n_out, 1, 1) if axis == 1 else (1, 1, n_out, 1))
        z = z * tf.constant(inv)
    return z


def bicubic_integer_upscale(x, shape: tuple[int, int, int, int], out_hw: tuple[int, int]):
    """TF ResizeBicubic (half-pixel centres) for integer factors; `shape` the static NHWC input shape."""
    import tensorflow as tf

    n, h, w, c = shape
    ky, kx = bicubic_axis_kernel(h, out_hw[0]), bicubic_axis_kernel(w, out_hw[1])
    if ky is None or kx is None:
        raise ValueError(f"bicubic {h}x{w} -> {out_hw} is not an integer, phase-periodic upscale")
    y = _fold_channels(x, shape)
    if ky.factor != 1:
        y = _upsample_axis(y, ky, 1)
    if kx.factor != 1:
        y = _upsample_axis(y, kx, 2)
    if ky.factor == 1 and kx.factor == 1:
        return tf.identity(x)
    return _unfold_channels(y, n, c)


def area_matrices(x, shape: tuple[int, int, int, int], out_hw: tuple[int, int]):
    """TF ResizeArea for any sizes: transpose to NCHW, A_y · X · A_xᵀ, scale, transpose back."""
    import tensorflow as tf

    n, h, w, c = shape
    a_y = area_axis_matrix(h, out_hw[0])[None, None]
    a_xt = np.ascontiguousarray(area_axis_matrix(w, out_hw[1]).T)[None, None]
    t = tf.transpose(x, (0, 3, 1, 2))
    t = tf.linalg.matmul(tf.constant(a_y), t)
    t = tf.linalg.matmul(t, tf.constant(a_xt))
    t = t * tf.constant(area_inverse_scale((h, w), out_hw))
    return tf.transpose(t, (0, 2, 3, 1))
