"""Resizing over the last two axes: upsample_nearest_neighbor, upsample_bilinear (iOS15/16),
resize_bilinear, resize_nearest_neighbor, resize (iOS17), crop_resize (iOS15/16/17), crop,
resample (bilinear / nearest; constant / border / reflection / symmetric padding).

Sampling grids (input size Xin, output size Xout, grid point for output index i), as documented
for `resize_bilinear.sampling_mode`:
  STRICT_ALIGN_CORNERS  i * (Xin-1)/(Xout-1)                (Xout == 1 -> 0)
  ALIGN_CORNERS         same, but Xout == 1 -> (Xin-1)/2
  DEFAULT               i * Xin/Xout                         (TF align_corners=False, half_pixel=False)
  OFFSET_CORNERS        0.5*delta + i*delta, delta = max(1, Xin-1)/Xout
  UNALIGN_CORNERS       (i + 0.5) * Xin/Xout - 0.5           (TF half_pixel_centers=True)
each clamped to [0, Xin-1], then linearly interpolated between floor and floor+1.
upsample_bilinear "recomputes the scale factor" from the output size (Xin/Xout); align_corners
-> STRICT_ALIGN_CORNERS, else half_pixel_centers (iOS16, default !align_corners) -> UNALIGN_CORNERS,
else DEFAULT.
Nearest neighbour: upsample_nearest_neighbor uses src = floor(i / scale_factor) (identical to
floor(i * Xin/Xout) for integer factors); resize_nearest_neighbor and resize(NEAREST_NEIGHBOR) are
what the TF frontend emits for half_pixel_centers=True, src = floor((i + 0.5) * Xin/Xout);
align-corner modes round the aligned grid. Real Core ML nearest resizing with non-integer
factors is not specified precisely anywhere we could find: treat such cases as approximate.
"""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op
from mobilekit.parity.mil.ops._common import as_list


def sampling_grid(x_in: int, x_out: int, mode: str) -> np.ndarray:
    i = np.arange(x_out, dtype=np.float64)
    mode = mode.upper()
    if mode in ("STRICT_ALIGN_CORNERS", "ALIGN_CORNERS"):
        if x_out == 1:
            g = np.array([(x_in - 1) / 2.0 if mode == "ALIGN_CORNERS" else 0.0])
        else:
            g = i * (x_in - 1) / (x_out - 1)
    elif mode == "DEFAULT":
        g = i * x_in / x_out
    elif mode == "OFFSET_CORNERS":
        delta = max(1, x_in - 1) / x_out
        g = 0.5 * delta + i * delta
    elif mode == "UNALIGN_CORNERS":
        g = (i + 0.5) * x_in / x_out - 0.5
    else:
        raise ValueError(f"unknown sampling_mode {mode!r}")
    return np.clip(g, 0, x_in - 1)


def _lerp_axis(x: np.ndarray, grid: np.ndarray, axis: int) -> np.ndarray:
    n = x.shape[axis]
    lo = np.floor(grid).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = (grid - lo).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = -1
    frac = frac.reshape(shape)
    a = np.take(x, lo, axis=axis)
    b = np.take(x, hi, axis=axis)
    return a + (b - a) * frac


def bilinear(x: np.ndarray, out_h: int, out_w: int, mode: str) -> np.ndarray:
    h, w = x.shape[-2:]
    y = _lerp_axis(x, sampling_grid(h, out_h, mode), x.ndim - 2)
    return _lerp_axis(y, sampling_grid(w, out_w, mode), x.ndim - 1)


def _nearest_index(x_in: int, x_out: int, mode: str) -> np.ndarray:
    mode = mode.upper()
    if mode in ("STRICT_ALIGN_CORNERS", "ALIGN_CORNERS"):
        idx = np.floor(sampling_grid(x_in, x_out, mode) + 0.5)
    elif mode == "OFFSET_CORNERS":
        idx = np.floor(sampling_grid(x_in, x_out, mode))
    else:  # DEFAULT / UNALIGN_CORNERS: half-pixel centres, as the TF frontend relies on
        idx = np.floor((np.arange(x_out) + 0.5) * x_in / x_out)
    return np.clip(idx, 0, x_in - 1).astype(np.int64)


def nearest(x: np.ndarray, idx_h: np.ndarray, idx_w: np.ndarray) -> np.ndarray:
    return np.take(np.take(x, idx_h, axis=x.ndim - 2), idx_w, axis=x.ndim - 1)


@mil_op("upsample_nearest_neighbor")
def upsample_nearest_neighbor(call):
    x = call["x"]
    sh = float(np.asarray(call.get("scale_factor_height", 1)).item())
    sw = float(np.asarray(call.get("scale_factor_width", 1)).item())
    h, w = x.shape[-2:]
    oh, ow = int(np.floor(h * sh)), int(np.floor(w * sw))
    ih = np.clip(np.floor(np.arange(oh) / sh), 0, h - 1).astype(np.int64)
    iw = np.clip(np.floor(np.arange(ow) / sw), 0, w - 1).astype(np.int64)
    return nearest(x, ih, iw)


@mil_op("resize_nearest_neighbor")
def resize_nearest_neighbor(call):
    x = call["x"]
    h, w = x.shape[-2:]
    oh, ow = int(call["target_size_height"]), int(call["target_size_width"])
    return nearest(x, _nearest_index(h, oh, "DEFAULT"), _nearest_index(w, ow, "DEFAULT"))


@mil_op("upsample_bilinear")
def upsample_bilinear(call):
    x = call["x"]
    sh = float(np.asarray(call.get("scale_factor_height", 1)).item())
    sw = float(np.asarray(call.get("scale_factor_width", 1)).item())
    h, w = x.shape[-2:]
    oh, ow = int(np.floor(h * sh)), int(np.floor(w * sw))
    align = bool(call.get("align_corners", True))
    half_pixel = bool(call.get("half_pixel_centers", not align))
    if align:
        mode = "STRICT_ALIGN_CORNERS"
    elif half_pixel:
        mode = "UNALIGN_CORNERS"
    else:
        mode = "DEFAULT"
    return bilinear(x, oh, ow, mode)


@mil_op("resize_bilinear")
def resize_bilinear(call):
    x = call["x"]
    oh, ow = int(call.get("target_size_height", 1)), int(call.get("target_size_width", 1))
    return bilinear(x, oh, ow, str(call.get("sampling_mode", "DEFAULT")))


@mil_op("resize")
def resize(call):
    """iOS17: the last `resized_dims` (<= 2 here) axes take their sizes from `shape` (0 = keep)."""
    x = call["x"]
    target = [int(v) for v in as_list(call["shape"])]
    k = int(call["resized_dims"])
    if k > 2:
        raise ValueError("resize over more than two axes is not supported")
    out = list(x.shape)
    for j in range(1, k + 1):
        t = target[-j]
        if t != 0:
            out[-j] = t
    mode = str(call.get("sampling_mode", "DEFAULT"))
    interp = str(call.get("interpolation_mode", "LINEAR")).upper()
    h, w = x.shape[-2:] if x.ndim >= 2 else (1, x.shape[-1])
    oh, ow = (out[-2], out[-1]) if x.ndim >= 2 else (1, out[-1])
    if interp == "LINEAR":
        y = _lerp_axis(x, sampling_grid(w, ow, mode), x.ndim - 1)
        return _lerp_axis(y, sampling_grid(h, oh, mode), x.ndim - 2) if k == 2 else y
    if interp == "NEAREST_NEIGHBOR":
        y = np.take(x, _nearest_index(w, ow, mode), axis=x.ndim - 1)
        return np.take(y, _nearest_index(h, oh, mode), axis=x.ndim - 2) if k == 2 else y
    raise ValueError(f"unknown interpolation_mode {interp!r}")


@mil_op("crop")
def crop(call):
    x = call["x"]
    ch = [int(v) for v in as_list(call["crop_height"])]
    cw = [int(v) for v in as_list(call["crop_width"])]
    h, w = x.shape[-2:]
    return x[..., ch[0] : h - ch[1], cw[0] : w - cw[1]]


def _box_corners(box, mode):
    a, b, c, d = [float(v) for v in box]
    mode = mode.upper()
    if mode == "CORNERS_HEIGHT_FIRST":
        return a, b, c, d
    if mode == "CORNERS_WIDTH_FIRST":
        return b, a, d, c
    if mode == "CENTER_SIZE_HEIGHT_FIRST":
        return a - c / 2, b - d / 2, a + c / 2, b + d / 2
    if mode == "CENTER_SIZE_WIDTH_FIRST":
        return b - d / 2, a - c / 2, b + d / 2, a + c / 2
    raise ValueError(f"unknown box_coordinate_mode {mode!r}")


def _crop_positions(start, end, n_out, mode):
    """Sample positions inside [start, end] (pixel coordinates), per sampling mode."""
    mode = mode.upper()
    i = np.arange(n_out, dtype=np.float64)
    if mode in ("STRICT_ALIGN_CORNERS", "ALIGN_CORNERS"):
        if n_out == 1:
            return np.array([(start + end) / 2 if mode == "ALIGN_CORNERS" else start])
        return start + i * (end - start) / (n_out - 1)
    size = end - start
    if mode == "DEFAULT":
        return start + i * size / n_out
    if mode == "OFFSET_CORNERS":
        delta = size / n_out
        return start + 0.5 * delta + i * delta
    if mode == "UNALIGN_CORNERS":
        return start + (i + 0.5) * size / n_out - 0.5
    raise ValueError(f"unknown sampling_mode {mode!r}")


def _sample_bilinear(img, ys, xs, pad_value):
    """img [C, H, W] sampled at the outer grid ys x xs; outside the image -> pad_value."""
    c, h, w = img.shape
    out = np.empty((c, len(ys), len(xs)), dtype=np.float32)
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    fy = (ys - y0).astype(np.float32)[:, None]
    fx = (xs - x0).astype(np.float32)[None, :]
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    yc, xc = np.clip(y0, 0, h - 1), np.clip(x0, 0, w - 1)
    for ch in range(c):
        im = img[ch]
        top = im[yc][:, xc] + (im[yc][:, x1] - im[yc][:, xc]) * fx
        bot = im[y1][:, xc] + (im[y1][:, x1] - im[y1][:, xc]) * fx
        out[ch] = top + (bot - top) * fy
    inside = ((ys >= 0) & (ys <= h - 1))[:, None] & ((xs >= 0) & (xs <= w - 1))[None, :]
    return np.where(inside[None], out, np.float32(pad_value))


@mil_op("crop_resize")
def crop_resize(call):
    x = call["x"]
    b, c, h, w = x.shape
    th, tw = int(call.get("target_height", 1)), int(call.get("target_width", 1))
    normalized = bool(call.get("normalized_coordinates", False))
    scale = float(np.asarray(call.get("spatial_scale", 1.0)).item())
    box_mode = str(call.get("box_coordinate_mode", "CORNERS_HEIGHT_FIRST"))
    mode = str(call.get("sampling_mode", "DEFAULT"))
    pad_value = float(np.asarray(call.get("pad_value", 0.0)).item())

    def crop_one(img, box):
        y1, x1, y2, x2 = _box_corners(box, box_mode)
        if normalized:
            y1, y2, x1, x2 = y1 * (h - 1), y2 * (h - 1), x1 * (w - 1), x2 * (w - 1)
        y1, y2, x1, x2 = y1 * scale, y2 * scale, x1 * scale, x2 * scale
        return _sample_bilinear(img, _crop_positions(y1, y2, th, mode), _crop_positions(x1, x2, tw, mode), pad_value)

    if "boxes" in call:  # iOS17: boxes [N, 4], box_indices [N] -> [N, C, th, tw]
        boxes = np.asarray(call["boxes"], dtype=np.float64).reshape(-1, 4)
        idx = call.get("box_indices")
        idx = np.arange(len(boxes)) if idx is None else np.asarray(idx).reshape(-1)
        return np.stack([crop_one(x[int(i)], bx) for bx, i in zip(boxes, idx)])
    roi = np.asarray(call["roi"], dtype=np.float64).reshape(np.shape(call["roi"])[0], -1)  # [N, 4|5]
    if roi.shape[1] == 5:  # [N, 1, C, th, tw]
        return np.stack([crop_one(x[int(r[0])], r[1:])[None] for r in roi])
    return np.stack([np.stack([crop_one(x[bi], r) for bi in range(b)]) for r in roi])  # [N, B, C, th, tw]


def _reflect(coord, lo, hi):
    """Reflect coordinates into [lo, hi] (mirror about the bounds)."""
    span = hi - lo
    if span <= 0:
        return np.full_like(coord, lo)
    c = np.mod(coord - lo, 2 * span)
    return lo + np.where(c > span, 2 * span - c, c)


@mil_op("resample")
def resample(call):
    x = call["x"]  # [B, C, H, W]
    coords = np.asarray(call["coordinates"], dtype=np.float64)  # [B, H', W', 2] (x, y)
    b, c, h, w = x.shape
    sampling = str(call["sampling_mode"]).lower()
    padding = str(call["padding_mode"]).lower()
    pad_value = float(np.asarray(call["padding_value"]).item())
    cmode = str(call["coordinates_mode"]).lower()
    align = bool(call["align_corners"])
    px, py = coords[..., 0], coords[..., 1]
    if cmode != "unnormalized":
        if cmode == "normalized_zero_to_one":
            px, py = px * 2 - 1, py * 2 - 1
        if align:
            px, py = (px + 1) / 2 * (w - 1), (py + 1) / 2 * (h - 1)
        else:
            px, py = ((px + 1) * w - 1) / 2, ((py + 1) * h - 1) / 2
    if padding == "border":
        px, py = np.clip(px, 0, w - 1), np.clip(py, 0, h - 1)
    elif padding == "reflection":
        if align:
            px, py = _reflect(px, 0, w - 1), _reflect(py, 0, h - 1)
        else:
            px, py = np.clip(_reflect(px, -0.5, w - 0.5), 0, w - 1), np.clip(_reflect(py, -0.5, h - 0.5), 0, h - 1)
    elif padding == "symmetric":
        px, py = np.clip(_reflect(px, -0.5, w - 0.5), 0, w - 1), np.clip(_reflect(py, -0.5, h - 0.5), 0, h - 1)

    def tap(img, yy, xx):  # img [C, H, W]; out-of-range taps read pad_value
        valid = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        v = img[:, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        return np.where(valid[None], v, np.float32(pad_value))

    outs = []
    for bi in range(b):
        img = x[bi]
        xx, yy = px[bi], py[bi]
        if sampling == "nearest":
            outs.append(tap(img, np.floor(yy + 0.5).astype(np.int64), np.floor(xx + 0.5).astype(np.int64)))
            continue
        x0, y0 = np.floor(xx).astype(np.int64), np.floor(yy).astype(np.int64)
        fx, fy = (xx - x0).astype(np.float32), (yy - y0).astype(np.float32)
        v00, v01 = tap(img, y0, x0), tap(img, y0, x0 + 1)
        v10, v11 = tap(img, y0 + 1, x0), tap(img, y0 + 1, x0 + 1)
        top = v00 + (v01 - v00) * fx
        bot = v10 + (v11 - v10) * fx
        outs.append(top + (bot - top) * fy)
    return np.stack(outs)
