"""batch_norm, instance_norm, layer_norm, l2_norm, local_response_norm (iOS15 / iOS17 forms).

batch_norm:    gamma * (x - mean) / sqrt(var + eps) + beta, per channel (axis 1); eps 1e-5.
instance_norm: normalise over the spatial axes (2..) per sample and channel; biased variance.
layer_norm:    normalise over `axes` (default all); gamma/beta have shape x.shape[axes].
l2_norm:       x / sqrt(sum(x^2 over the last three axes) + eps); eps 1e-6.
local_response_norm: x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta.
"""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op
from mobilekit.parity.mil.ops._common import as_list


def _per_channel(v, x, default):
    if v is None:
        return np.float32(default)
    return np.asarray(v, dtype=np.float32).reshape((1, -1) + (1,) * (x.ndim - 2))


@mil_op("batch_norm")
def batch_norm(call):
    x = call["x"]
    eps = np.float32(call.get("epsilon", 1e-5))
    mean = _per_channel(call["mean"], x, 0.0)
    var = _per_channel(call["variance"], x, 1.0)
    gamma = _per_channel(call.get("gamma"), x, 1.0)
    beta = _per_channel(call.get("beta"), x, 0.0)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


@mil_op("instance_norm")
def instance_norm(call):
    x = call["x"]
    eps = np.float32(call.get("epsilon", 1e-5))
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = np.square(x - mean).mean(axis=axes, keepdims=True)
    gamma = _per_channel(call.get("gamma"), x, 1.0)
    beta = _per_channel(call.get("beta"), x, 0.0)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


@mil_op("layer_norm")
def layer_norm(call):
    x = call["x"]
    eps = np.float32(call.get("epsilon", 1e-5))
    axes_v = call.get("axes")
    axes = tuple(sorted(int(a) % x.ndim for a in as_list(axes_v))) if axes_v is not None else tuple(range(x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = np.square(x - mean).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    gamma, beta = call.get("gamma"), call.get("beta")
    if gamma is not None:
        y = y * np.asarray(gamma, dtype=np.float32).reshape(shape)
    if beta is not None:
        y = y + np.asarray(beta, dtype=np.float32).reshape(shape)
    return y


@mil_op("l2_norm")
def l2_norm(call):
    x = call["x"]
    eps = np.float32(call.get("epsilon", 1e-6))
    axes = tuple(range(max(x.ndim - 3, 0), x.ndim))
    return x / np.sqrt(np.sum(np.square(x), axis=axes, keepdims=True) + eps)


@mil_op("local_response_norm")
def local_response_norm(call):
    x = call["x"]
    size = int(call["size"])
    alpha = np.float32(call.get("alpha", 1e-4))
    beta = np.float32(call.get("beta", 0.75))
    k = np.float32(call.get("k", 1.0))
    sq = np.square(x)
    c = x.shape[1]
    lo, hi = (size - 1) // 2, size // 2
    padded = np.pad(sq, [(0, 0), (lo, hi)] + [(0, 0)] * (x.ndim - 2))
    acc = np.zeros_like(sq)
    for i in range(size):
        acc += padded[:, i : i + c]
    return x / np.power(k + alpha / size * acc, beta)
