"""NumPy reference implementations of the kernels shipped in ``swift_shaders/``.

These are the *definitions*: the C header ``mk_kernel_math.h`` (shared by the Metal shaders and the
Swift CPU path) implements exactly this arithmetic, the Swift tests compare against fixtures written
from these functions (or from TensorFlow where TF has the op) and ``tests/unit/test_shader_references.py``
checks the TF-backed ones against TensorFlow within 1e-5.

All images are float32 NHWC ``(N, H, W, C)``; ``(H, W, C)`` is accepted and returned as such.
Arithmetic is float32 in the order written below unless a docstring says otherwise.

TensorFlow semantics verified against TF 2.19 (``tensorflow/core/kernels/image/*.cc``, ``dilation_ops.cc``):

* ``tf.nn.dilation2d(x, f, strides=1, padding="SAME", dilations=1)``:
  ``out[y, x, c] = max_{dy, dx} in[y + dy - ph, x + dx - pw, c] + f[dy, dx, c]`` over in-image taps only,
  ``ph = (kh - 1) // 2``, start value ``-FLT_MAX`` (``lowest()``), strict ``>`` comparisons.
* ``tf.nn.erosion2d`` is computed by TF as ``-dilation2d(-x, reverse(f, [0, 1]))``; with a flat (zero)
  filter this is the minimum over the window (out-of-image taps ignored, i.e. +inf).
* ``tf.image.resize(method="bicubic", antialias=False)`` is ``ResizeBicubic(half_pixel_centers=True)``:
  Keys cubic with ``a = -0.5``; source coordinate ``(o + 0.5) * (in / out) - 0.5`` in float32; the
  fractional part is *quantised to 1/1024* (``lrintf(delta * 1024)``, a 1025-entry coefficient table);
  taps outside the image get weight 0 and the remaining weights are renormalised to sum to 1 (not
  edge replication); rows (y) are interpolated first for each of the 4 x taps, then x.
* ``tf.image.resize(method="area")`` is ``ResizeArea(align_corners=False)``: exact box integration of the
  source pixel grid over ``[o * s, (o + 1) * s)`` with ``s = in / out`` (float32), fractional coverage
  at both ends, for any (also non-integer, also upscaling) factor; indices past the border (float
  rounding of ``out * s``) are clamped; the sum is multiplied by ``1 / (sh * sw)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from mobilekit.core.errors import InputError

F32 = np.float32
FLT_MAX = float(np.finfo(np.float32).max)
FLT_MIN = float(np.finfo(np.float32).tiny)
BICUBIC_A = -0.5
BICUBIC_TABLE_SIZE = 1024
CLICK_TRUNCATE = 255.0


# --------------------------------------------------------------------------- helpers


def _as_nhwc(x: np.ndarray, name: str = "x") -> tuple[np.ndarray, bool]:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 3:
        return a[None], True
    if a.ndim == 4:
        return a, False
    raise InputError(f"{name} must be (N, H, W, C) or (H, W, C), got shape {a.shape}")


def _back(a: np.ndarray, squeeze: bool) -> np.ndarray:
    return a[0] if squeeze else a


def _check_kernel(kh: int, kw: int) -> None:
    for k in (kh, kw):
        if int(k) != k or k < 1 or k % 2 == 0:
            raise InputError(f"structuring element sizes must be odd positive ints, got {kh}x{kw}")


# --------------------------------------------------------------------------- 1. erosion / dilation


def _morph(x: np.ndarray, kh: int, kw: int | None, filters: np.ndarray | None, dilate: bool) -> np.ndarray:
    kw = kh if kw is None else kw
    a, squeeze = _as_nhwc(x)
    n, h, w, c = a.shape
    if filters is None:
        _check_kernel(kh, kw)
        f = np.zeros((kh, kw, c), np.float32)
    else:
        f = np.asarray(filters, np.float32)
        if f.ndim != 3 or f.shape[2] != c:
            raise InputError(f"filters must be (kh, kw, C={c}), got {f.shape}")
        kh, kw = f.shape[:2]
        _check_kernel(kh, kw)
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    src = a if dilate else -a
    taps = f if dilate else f[::-1, ::-1]  # erosion2d = -dilation2d(-x, reverse(f))
    acc = np.full(a.shape, -FLT_MAX, np.float32)
    for dy in range(kh):
        oy0, oy1 = max(0, ph - dy), min(h, h + ph - dy)  # output rows whose tap row is inside
        if oy0 >= oy1:
            continue
        for dx in range(kw):
            ox0, ox1 = max(0, pw - dx), min(w, w + pw - dx)
            if ox0 >= ox1:
                continue
            v = src[:, oy0 + dy - ph : oy1 + dy - ph, ox0 + dx - pw : ox1 + dx - pw, :] + taps[dy, dx]
            cur = acc[:, oy0:oy1, ox0:ox1, :]
            np.copyto(cur, v, where=v > cur)  # strict '>' exactly as TF: NaN never wins
    return _back(acc if dilate else -acc, squeeze)


def dilation2d(x: np.ndarray, kh: int = 3, kw: int | None = None, filters: np.ndarray | None = None) -> np.ndarray:
    """``tf.nn.dilation2d`` with strides 1, dilations 1, padding SAME.

    Flat ``kh x kw`` structuring element (odd sizes) unless ``filters`` ``(kh, kw, C)`` is given:
    ``out = max over in-image taps of in[y+dy-ph, x+dx-pw] + f[dy, dx]``.
    """
    return _morph(x, kh, kw, filters, dilate=True)


def erosion2d(x: np.ndarray, kh: int = 3, kw: int | None = None, filters: np.ndarray | None = None) -> np.ndarray:
    """``tf.nn.erosion2d`` with strides 1, dilations 1, padding SAME.

    TF computes ``-dilation2d(-x, reverse(f, [0, 1]))``, i.e.
    ``out = min over in-image taps of in[y+dy-ph, x+dx-pw] - f[kh-1-dy, kw-1-dx]``; flat element:
    the window minimum.
    """
    return _morph(x, kh, kw, filters, dilate=False)


# --------------------------------------------------------------------------- 2. bicubic resize


def bicubic_table_entry(i: int) -> tuple[np.float32, np.float32]:
    """TF's coefficient table entry ``i`` in [0, 1024]: (K(x), K(x + 1)) for x = i / 1024, computed in
    double and rounded to float32 (Keys, a = -0.5)."""
    a = BICUBIC_A
    x = i / BICUBIC_TABLE_SIZE
    k0 = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = x + 1.0
    k1 = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return F32(k0), F32(k1)


def bicubic_coeffs(out_loc: int, scale: np.float32, limit: int) -> tuple[list[int], list[np.float32]]:
    """Indices and weights of the 4 taps for output index ``out_loc`` (TF ``GetWeightsAndIndices``
    with ``HalfPixelScaler`` and Keys cubic)."""
    in_f = (F32(out_loc) + F32(0.5)) * F32(scale) - F32(0.5)
    in_loc = int(np.floor(in_f))
    delta = F32(in_f - F32(in_loc))
    off = int(np.rint(F32(delta * F32(BICUBIC_TABLE_SIZE))))  # lrintf: round half to even
    t0, t1 = bicubic_table_entry(off)
    u0, u1 = bicubic_table_entry(BICUBIC_TABLE_SIZE - off)
    raw = [t1, t0, u0, u1]
    idx, wts = [], []
    for k in range(4):
        want = in_loc - 1 + k
        b = min(limit - 1, max(0, want))
        idx.append(b)
        wts.append(raw[k] if b == want else F32(0.0))
    s = F32(F32(F32(wts[0] + wts[1]) + wts[2]) + wts[3])
    if abs(float(s)) >= 1000.0 * FLT_MIN:
        inv = F32(F32(1.0) / s)
        wts = [F32(v * inv) for v in wts]
    return idx, wts


def resize_bicubic(x: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``tf.image.resize(x, size, method="bicubic", antialias=False)`` (see module docstring)."""
    a, squeeze = _as_nhwc(x)
    oh, ow = int(size[0]), int(size[1])
    n, h, w, c = a.shape
    if oh <= 0 or ow <= 0 or h <= 0 or w <= 0:
        raise InputError(f"resize sizes must be positive, got {h}x{w} -> {oh}x{ow}")
    sh, sw = F32(F32(h) / F32(oh)), F32(F32(w) / F32(ow))
    ycf = [bicubic_coeffs(o, sh, h) for o in range(oh)]
    xcf = [bicubic_coeffs(o, sw, w) for o in range(ow)]
    yi = np.array([i for i, _ in ycf])  # (oh, 4)
    yw = np.array([wt for _, wt in ycf], np.float32)
    xi = np.array([i for i, _ in xcf])  # (ow, 4)
    xw = np.array([wt for _, wt in xcf], np.float32)
    out = np.zeros((n, oh, ow, c), np.float32)
    for oy in range(oh):
        rows = a[:, yi[oy]]  # (n, 4, w, c)
        cols = []
        for j in range(4):  # value of column tap j, interpolated along y first
            v = rows[:, :, xi[:, j], :]  # (n, 4, ow, c)
            col = v[:, 0] * yw[oy, 0]
            for k in range(1, 4):
                col = col + v[:, k] * yw[oy, k]
            cols.append(col)
        r = cols[0] * xw[:, 0][None, :, None]
        for j in range(1, 4):
            r = r + cols[j] * xw[:, j][None, :, None]
        out[:, oy] = r
    return _back(out, squeeze)


# --------------------------------------------------------------------------- 3. area resize


def area_coverage(i: int, lo: np.float32, hi: np.float32, scale: np.float32) -> np.float32:
    """Length of source cell ``[i, i + 1)`` inside ``[lo, hi)``, as TF computes it in float32."""
    if F32(i) < lo:
        return F32(scale) if F32(i + 1) > hi else F32(F32(i + 1) - lo)
    return F32(hi - F32(i)) if F32(i + 1) > hi else F32(1.0)


def area_span(o: int, scale: np.float32) -> tuple[int, int, np.float32, np.float32]:
    """(start, end, start_scale, end_minus_one_scale) of output index ``o`` (end exclusive, unclamped)."""
    lo, hi = F32(F32(o) * scale), F32(F32(o + 1) * scale)
    start = int(np.floor(lo))
    end = int(np.ceil(hi))
    return start, end, area_coverage(start, lo, hi, scale), area_coverage(end - 1, lo, hi, scale)


def resize_area(x: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``tf.image.resize(x, size, method="area")`` (= ``ResizeArea``, align_corners False).

    ``out[o] = (sum_i coverage_y(i) * sum_j coverage_x(j) * in[i, j]) * (1 / (sh * sw))`` with
    ``s = in / out``; per source row: first tap * its coverage, full middle taps, last tap * its
    coverage; indices clamped to the image.
    """
    a, squeeze = _as_nhwc(x)
    oh, ow = int(size[0]), int(size[1])
    n, h, w, c = a.shape
    if oh <= 0 or ow <= 0 or h <= 0 or w <= 0:
        raise InputError(f"resize sizes must be positive, got {h}x{w} -> {oh}x{ow}")
    sh, sw = F32(F32(h) / F32(oh)), F32(F32(w) / F32(ow))
    inv = F32(1.0 / float(F32(sh * sw)))  # TF: float scale = 1.0 / (hs * ws)  (double division)
    out = np.zeros((n, oh, ow, c), np.float32)

    def bound(v: int, lim: int) -> int:
        return min(lim - 1, max(0, v))

    xspans = [area_span(o, sw) for o in range(ow)]
    for oy in range(oh):
        lo, hi = F32(F32(oy) * sh), F32(F32(oy + 1) * sh)
        y0, y1 = int(np.floor(lo)), int(np.ceil(hi))
        for ox, (xs, xe, s0, s1) in enumerate(xspans):
            total = np.zeros((n, c), np.float32)
            for i in range(y0, y1):
                row = a[:, bound(i, h)]  # (n, w, c)
                sy = area_coverage(i, lo, hi, sh)
                sum_y = row[:, bound(xs, w)] * s0
                if xs + 1 != xe:
                    for j in range(xs + 1, xe - 1):
                        sum_y = sum_y + row[:, bound(j, w)]
                    sum_y = sum_y + row[:, bound(xe - 1, w)] * s1
                total = total + sum_y * sy
            out[:, oy, ox] = total * inv
    return _back(out, squeeze)


# --------------------------------------------------------------------------- 4. masked stitch


def stitch(original: np.ndarray, inpainted: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend the inpainted image into the original where the mask is set.

    ``m = 0 if not mask > 0 else min(mask, 1)`` (NaN and negatives count as 0), then
    ``out = (1 - m) * original + m * inpainted`` in float32. For a binary mask this is an exact
    select (m = 1 returns the inpainted value bit for bit, m = 0 the original); fractional masks
    feather the seam. ``mask`` has 1 channel (broadcast) or as many as the images: (N, H, W, 1|C),
    (H, W, 1|C) or (H, W).
    """
    o, squeeze = _as_nhwc(original, "original")
    p, _ = _as_nhwc(inpainted, "inpainted")
    m = np.asarray(mask, np.float32)
    if m.ndim == 2:
        m = m[:, :, None]
    if m.ndim == 3:
        m = m[None]
    if o.shape != p.shape:
        raise InputError(f"original {o.shape} and inpainted {p.shape} differ")
    if m.shape[:3] != o.shape[:3] or m.shape[3] not in (1, o.shape[3]):
        raise InputError(f"mask {m.shape} does not match images {o.shape}")
    with np.errstate(invalid="ignore"):
        mm = np.where(m > 0, np.minimum(m, F32(1.0)), F32(0.0)).astype(np.float32)
    mm = np.where(np.isnan(m), F32(0.0), mm).astype(np.float32)
    out = (F32(1.0) - mm) * o + mm * p
    return _back(out.astype(np.float32), squeeze)


# --------------------------------------------------------------------------- 5. click distance maps


@dataclass(frozen=True)
class RefClick:
    """A click at integer pixel (row ``y``, column ``x``); ``positive`` selects channel 0 (else 1).
    Field names match :class:`mobilekit.data.clicks.Click`."""

    y: int
    x: int
    positive: bool


def click_maps(clicks: Iterable, height: int, width: int, truncate: float = CLICK_TRUNCATE) -> np.ndarray:
    """Raw click distance maps, float32 ``(H, W, 2)``.

    Channel 0: Euclidean distance from pixel (y, x) to the nearest positive click, channel 1: to the
    nearest negative click, both ``min(sqrt(d2), truncate)`` with ``d2 = (y - cy)^2 + (x - cx)^2``
    in float32 (exact for images under 4096 px); ``truncate`` everywhere when there is no click of
    that polarity. Clicks must lie inside the image. Same values as
    ``mobilekit.data.clicks.encode_click_maps``.
    """
    if height <= 0 or width <= 0:
        raise InputError(f"click map size must be positive, got {height}x{width}")
    t = F32(truncate)
    if not t > 0:
        raise InputError(f"truncate must be > 0, got {truncate}")
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    best = [None, None]
    for c in clicks:
        cy, cx, pos = int(c.y), int(c.x), bool(c.positive)
        if not (0 <= cy < height and 0 <= cx < width):
            raise InputError(f"click (y={cy}, x={cx}) lies outside the {height}x{width} image")
        d2 = (ys - F32(cy)) ** 2 + (xs - F32(cx)) ** 2
        ch = 0 if pos else 1
        best[ch] = d2 if best[ch] is None else np.minimum(best[ch], d2)
    out = np.full((height, width, 2), t, np.float32)
    for ch in (0, 1):
        if best[ch] is not None:
            out[..., ch] = np.minimum(np.sqrt(best[ch]), t)
    return out


def click_maps_normalized(clicks: Iterable, height: int, width: int, truncate: float = CLICK_TRUNCATE) -> np.ndarray:
    """Model input encoding: ``clip(click_maps(...) / truncate, 0, 1)`` in float32."""
    t = F32(truncate)
    return np.clip(click_maps(clicks, height, width, truncate) / t, F32(0.0), F32(1.0)).astype(np.float32)


# --------------------------------------------------------------------------- 6. depth-of-field blur


def dof_radius(depth: np.ndarray, focal_depth: float, strength: float, max_radius: int) -> np.ndarray:
    """Per-pixel blur radius (int32).

    ``t = strength * |depth - focal_depth|`` in float32; ``r = 0`` if not ``t > 0`` (also NaN),
    ``max_radius`` if ``t >= max_radius``, else ``floor(t + 0.5)`` (round half up), finally
    ``min(r, max_radius)``.
    """
    d = np.asarray(depth, np.float32)
    with np.errstate(invalid="ignore"):
        t = F32(strength) * np.abs(d - F32(focal_depth))
        t = t.astype(np.float32)
        mr = int(max_radius)
        pos = t > 0
        big = t >= F32(mr)
        safe = np.where(pos & ~big, t, F32(0.0)).astype(np.float32)
        r = np.floor((safe + F32(0.5)).astype(np.float32)).astype(np.int64)
    r = np.where(big, mr, np.where(pos, r, 0))
    return np.minimum(r, mr).astype(np.int32)


def depth_of_field(
    image: np.ndarray, depth: np.ndarray, focal_depth: float, strength: float, max_radius: int
) -> np.ndarray:
    """Depth-of-field blur: each output pixel is the mean of the input over the square window
    ``[y - r, y + r] x [x - r, x + r]`` *intersected with the image* (out-of-image pixels are not
    counted: the divisor is the number of in-image pixels), with ``r = dof_radius(depth[y, x], ...)``.

    ``image`` (N, H, W, C) or (H, W, C); ``depth`` (N, H, W[, 1]) or (H, W[, 1]) in any unit
    (strength converts depth difference to pixels). ``max_radius`` >= 0 bounds the work per pixel.
    Reference arithmetic uses a float64 summed-area table; the C kernel sums in float32 row by row
    (agreement well within 1e-5 for values in [0, 1] and radii up to ~32).
    """
    a, squeeze = _as_nhwc(image, "image")
    n, h, w, c = a.shape
    d = np.asarray(depth, np.float32)
    if d.ndim == a.ndim and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim == 2:
        d = d[None]
    if d.shape != (n, h, w):
        raise InputError(f"depth {np.shape(depth)} does not match image {a.shape}")
    if int(max_radius) < 0:
        raise InputError(f"max_radius must be >= 0, got {max_radius}")
    r = dof_radius(d, focal_depth, strength, max_radius)
    sat = np.zeros((n, h + 1, w + 1, c), np.float64)
    sat[:, 1:, 1:] = np.cumsum(np.cumsum(a.astype(np.float64), axis=1), axis=2)
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    out = np.empty_like(a)
    for b in range(n):
        rb = r[b]
        y0, y1 = np.maximum(yy - rb, 0), np.minimum(yy + rb, h - 1) + 1
        x0, x1 = np.maximum(xx - rb, 0), np.minimum(xx + rb, w - 1) + 1
        s = sat[b, y1, x1] - sat[b, y0, x1] - sat[b, y1, x0] + sat[b, y0, x0]
        cnt = ((y1 - y0) * (x1 - x0)).astype(np.float64)[..., None]
        out[b] = (s / cnt).astype(np.float32)
    return _back(out, squeeze)
