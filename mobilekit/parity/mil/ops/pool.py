"""max_pool, avg_pool, l2_pool (1-D..3-D).

Output size (`_utils.spatial_dimensions_out_shape`):
  floor mode: floor((in + pad - k) / s) + 1
  ceil mode:  floor((in + pad - k + s - 1) / s) + 1, minus one if the last window would start
              in the padding ((out-1)*s >= in + pad/2 and pad > 0)  -- PyTorch's ceil_mode.
Windows running past the declared padding (ceil mode) see nothing there: they are excluded
from the max and from the average's divisor. avg_pool's divisor counts the declared padding
unless `exclude_padding_from_average` (TF's pooling always excludes it; the TF frontend sets it).
"""
from __future__ import annotations

import math

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op
from mobilekit.parity.mil.ops._common import as_list, resolve_pads, windows


def _geometry(call):
    x = call["x"]
    n_sp = x.ndim - 2
    kernel = [int(k) for k in as_list(call["kernel_sizes"])]
    strides = as_list(call.get("strides")) or [1] * n_sp
    pad_type = str(call.get("pad_type", "valid"))
    pads = resolve_pads(pad_type, as_list(call.get("pad")) or None, x.shape[2:], kernel, strides, [1] * n_sp)
    ceil_mode = bool(call.get("ceil_mode", False))
    out_sizes = []
    for i in range(n_sp):
        total = pads[i][0] + pads[i][1]
        size = x.shape[2 + i]
        if not ceil_mode:
            o = (size + total - kernel[i]) // strides[i] + 1
        else:
            o = math.floor((size + total - kernel[i] + strides[i] - 1) / strides[i] + 1)
            if (o - 1) * strides[i] >= size + total / 2 and total > 0:
                o -= 1
        out_sizes.append(o)
    # extra room at the end for ceil-mode windows that run past the declared padding
    extra = [max(0, (out_sizes[i] - 1) * strides[i] + kernel[i] - (x.shape[2 + i] + pads[i][0] + pads[i][1])) for i in range(n_sp)]
    return x, kernel, strides, pads, extra, out_sizes


def _padded(x, pads, extra, value):
    spec = [(0, 0), (0, 0)] + [(b, a + e) for (b, a), e in zip(pads, extra)]
    if all(p == (0, 0) for p in spec):
        return x
    return np.pad(x, spec, mode="constant", constant_values=value)


def _count(x_shape, kernel, strides, pads, extra, out_sizes, include_declared_pad: bool):
    """How many elements each window averages over."""
    n_sp = len(kernel)
    ones = np.ones((1, 1) + tuple(x_shape[2:]), dtype=np.float32)
    if include_declared_pad:
        ones = np.pad(ones, [(0, 0), (0, 0)] + [tuple(p) for p in pads], constant_values=1.0)
        ones = np.pad(ones, [(0, 0), (0, 0)] + [(0, e) for e in extra], constant_values=0.0)
    else:
        ones = _padded(ones, pads, extra, 0.0)
    win = windows(ones, kernel, strides, [1] * n_sp, out_sizes)
    return win.sum(axis=tuple(range(-n_sp, 0)))


@mil_op("max_pool")
def max_pool(call):
    x, kernel, strides, pads, extra, out_sizes = _geometry(call)
    xp = _padded(x, pads, extra, -np.inf)
    win = windows(xp, kernel, strides, [1] * len(kernel), out_sizes)
    return win.max(axis=tuple(range(-len(kernel), 0)))


@mil_op("avg_pool")
def avg_pool(call):
    x, kernel, strides, pads, extra, out_sizes = _geometry(call)
    n_sp = len(kernel)
    xp = _padded(x, pads, extra, 0.0)
    win = windows(xp, kernel, strides, [1] * n_sp, out_sizes)
    total = win.sum(axis=tuple(range(-n_sp, 0)), dtype=np.float32)
    exclude = bool(call.get("exclude_padding_from_average", False))
    count = _count(x.shape, kernel, strides, pads, extra, out_sizes, include_declared_pad=not exclude)
    return total / count


@mil_op("l2_pool")
def l2_pool(call):
    x, kernel, strides, pads, extra, out_sizes = _geometry(call)
    n_sp = len(kernel)
    xp = _padded(x, pads, extra, 0.0)
    win = windows(xp, kernel, strides, [1] * n_sp, out_sizes)
    return np.sqrt(np.square(win).sum(axis=tuple(range(-n_sp, 0))))
