"""matmul, linear, einsum, scaled_dot_product_attention."""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op


@mil_op("matmul")
def matmul(call):
    x, y = np.asarray(call["x"]), np.asarray(call["y"])
    if bool(call.get("transpose_x", False)) and x.ndim >= 2:
        x = np.swapaxes(x, -1, -2)
    if bool(call.get("transpose_y", False)) and y.ndim >= 2:
        y = np.swapaxes(y, -1, -2)
    return np.matmul(x, y)


@mil_op("linear")
def linear(call):
    x, w = np.asarray(call["x"]), np.asarray(call["weight"])  # weight [D_out, D_in]
    out = np.matmul(x, w.T)
    bias = call.get("bias")
    return out if bias is None else out + np.asarray(bias)


@mil_op("einsum")
def einsum(call):
    values = call["values"]
    return np.einsum(str(call["equation"]), *values)


@mil_op("scaled_dot_product_attention")
def scaled_dot_product_attention(call):
    q, k, v = call["query"], call["key"], call["value"]
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) / np.sqrt(np.float32(q.shape[-1]))
    mask = call.get("attn_mask")
    if mask is not None:
        mask = np.asarray(mask)
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    scores = scores - np.max(scores, axis=-1, keepdims=True)
    e = np.exp(scores)
    return np.matmul(e / np.sum(e, axis=-1, keepdims=True), v)
