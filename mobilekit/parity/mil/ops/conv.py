"""conv and conv_transpose (iOS15 and iOS17 forms share semantics; 1-D, 2-D and 3-D).

conv: x [N, C_in, *D], weight [C_out, C_in/groups, *K]; pad_type valid / same (TF SAME) /
same_lower / custom (pad = [before0, after0, before1, after1, ...]).
conv_transpose: weight [C_in, C_out/groups, *K]; output is the full transposed convolution
cropped by the padding the matching forward conv would use (or `output_shape` when given).
"""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op
from mobilekit.parity.mil.ops._common import (
    as_list,
    effective_kernel,
    pad_spatial,
    resolve_pads,
    windows,
)


def _conv_params(call, n_sp: int):
    strides = as_list(call.get("strides")) or [1] * n_sp
    dilations = as_list(call.get("dilations")) or [1] * n_sp
    groups = int(call.get("groups", 1))
    pad_type = str(call.get("pad_type", "valid"))
    pad = as_list(call.get("pad")) or [0] * 2 * n_sp
    return strides, dilations, groups, pad_type, pad


def _dense_conv(xp, w, strides, dilations, out_sizes):
    """Ungrouped conv of a padded input by im2col + one GEMM. xp [N,C,*S], w [O,C,*K]."""
    n, c = xp.shape[:2]
    o = w.shape[0]
    kernel = w.shape[2:]
    n_sp = len(kernel)
    if all(k == 1 for k in kernel):
        xs = xp[(slice(None), slice(None)) + tuple(slice(None, s * (d - 1) + 1, s) for s, d in zip(strides, out_sizes))]
        out = np.tensordot(w.reshape(o, c), xs, axes=([1], [1]))  # [O, N, *out]
        return np.moveaxis(out, 0, 1)
    win = windows(xp, kernel, strides, dilations, out_sizes)  # [N, C, *out, *K]
    perm = (0,) + tuple(range(2, 2 + n_sp)) + (1,) + tuple(range(2 + n_sp, 2 + 2 * n_sp))
    cols = win.transpose(perm).reshape(n * int(np.prod(out_sizes)), -1)
    out = cols @ w.reshape(o, -1).T  # [N*prod(out), O]
    out = out.reshape((n,) + tuple(out_sizes) + (o,))
    return np.moveaxis(out, -1, 1)


def _depthwise_conv(xp, w, strides, dilations, out_sizes):
    """groups == C_in, weight [C*m, 1, *K]: per-channel filters, multiplier m."""
    n, c = xp.shape[:2]
    kernel = w.shape[2:]
    m = w.shape[0] // c
    win = windows(xp, kernel, strides, dilations, out_sizes)  # [N, C, *out, *K]
    wk = w.reshape((c, m) + tuple(kernel))
    acc = np.zeros((n, c, m) + tuple(out_sizes), dtype=np.float32)
    sp_ones = (1,) * len(out_sizes)
    for pos in np.ndindex(*kernel):
        xv = win[(Ellipsis,) + pos][:, :, None]  # [N, C, 1, *out]
        wv = wk[(slice(None), slice(None)) + pos].reshape((1, c, m) + sp_ones)
        acc += xv * wv
    return acc.reshape((n, c * m) + tuple(out_sizes))


@mil_op("conv")
def conv(call):
    x = call["x"]
    w = call["weight"]
    n_sp = x.ndim - 2
    strides, dilations, groups, pad_type, pad = _conv_params(call, n_sp)
    kernel = w.shape[2:]
    pads = resolve_pads(pad_type, pad, x.shape[2:], kernel, strides, dilations)
    xp = pad_spatial(x, pads)
    k_eff = effective_kernel(kernel, dilations)
    out_sizes = [(xp.shape[2 + i] - k_eff[i]) // strides[i] + 1 for i in range(n_sp)]
    c_in = x.shape[1]
    if groups == 1:
        out = _dense_conv(xp, w, strides, dilations, out_sizes)
    elif groups == c_in and w.shape[1] == 1:
        out = _depthwise_conv(xp, w, strides, dilations, out_sizes)
    else:
        cg, og = c_in // groups, w.shape[0] // groups
        out = np.concatenate(
            [
                _dense_conv(xp[:, g * cg : (g + 1) * cg], w[g * og : (g + 1) * og], strides, dilations, out_sizes)
                for g in range(groups)
            ],
            axis=1,
        )
    bias = call.get("bias")
    if bias is not None:
        out = out + np.asarray(bias).reshape((1, -1) + (1,) * n_sp)
    return out


@mil_op("conv_transpose")
def conv_transpose(call):
    x = call["x"]
    w = call["weight"]  # [C_in, C_out/groups, *K]
    n_sp = x.ndim - 2
    strides, dilations, groups, pad_type, pad = _conv_params(call, n_sp)
    n, c_in = x.shape[:2]
    kernel = w.shape[2:]
    og = w.shape[1]
    cg = c_in // groups
    k_eff = effective_kernel(kernel, dilations)
    in_sizes = x.shape[2:]
    full = [(in_sizes[i] - 1) * strides[i] + k_eff[i] for i in range(n_sp)]
    out_full = np.zeros((n, og * groups) + tuple(full), dtype=np.float32)
    for g in range(groups):
        xg = x[:, g * cg : (g + 1) * cg]
        wg = w[g * cg : (g + 1) * cg]  # [cg, og, *K]
        for pos in np.ndindex(*kernel):
            contrib = np.tensordot(wg[(slice(None), slice(None)) + pos], xg, axes=([0], [1]))  # [og, N, *in]
            sl = tuple(
                slice(pos[i] * dilations[i], pos[i] * dilations[i] + strides[i] * (in_sizes[i] - 1) + 1, strides[i])
                for i in range(n_sp)
            )
            out_full[(slice(None), slice(g * og, (g + 1) * og)) + sl] += np.moveaxis(contrib, 0, 1)

    output_shape = as_list(call.get("output_shape"))
    out_sizes = [int(s) for s in output_shape[2:]] if len(output_shape) == n_sp + 2 else None
    pad_type = pad_type.lower()
    if pad_type == "custom":
        befores = [int(pad[2 * i]) for i in range(n_sp)]
        if out_sizes is None:
            out_sizes = [full[i] - int(pad[2 * i]) - int(pad[2 * i + 1]) for i in range(n_sp)]
    elif pad_type in ("same", "same_lower"):
        if out_sizes is None:
            out_sizes = [in_sizes[i] * strides[i] for i in range(n_sp)]
        # the forward conv that maps out_sizes -> in_sizes pads `before` at the start
        befores = [b for b, _ in resolve_pads(pad_type, None, out_sizes, kernel, strides, dilations)]
    else:  # valid
        befores = [0] * n_sp
        if out_sizes is None:
            out_sizes = full
    # crop (or zero-extend at the end when output_shape asks for more than the full output)
    out = np.zeros((n, og * groups) + tuple(out_sizes), dtype=np.float32)
    src, dst = [], []
    for i in range(n_sp):
        length = min(out_sizes[i], full[i] - befores[i])
        src.append(slice(befores[i], befores[i] + length))
        dst.append(slice(0, length))
    out[(slice(None), slice(None)) + tuple(dst)] = out_full[(slice(None), slice(None)) + tuple(src)]
    bias = call.get("bias")
    if bias is not None:
        out = out + np.asarray(bias).reshape((1, -1) + (1,) * n_sp)
    return out
