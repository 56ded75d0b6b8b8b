"""Activations (iOS15 forms; the iOS17 forms differ only in allowed dtypes of alpha/beta).

Channel-wise ops (prelu, softplus_parametric) broadcast alpha/beta along axis 1.
gelu modes: EXACT 0.5x(1+erf(x/sqrt2)), TANH_APPROXIMATION, SIGMOID_APPROXIMATION x*sigmoid(1.702x).
"""
from __future__ import annotations

import numpy as np
from scipy import special

from mobilekit.parity.mil.ops.registry import mil_op


def _channel(v, x):
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


@mil_op("relu")
def relu(call):
    return np.maximum(call["x"], 0)


@mil_op("relu6")
def relu6(call):
    return np.minimum(np.maximum(call["x"], 0), 6)


@mil_op("leaky_relu")
def leaky_relu(call):
    x = call["x"]
    return np.where(x >= 0, x, x * np.float32(call.get("alpha", 0.01)))


@mil_op("clamped_relu")
def clamped_relu(call):
    x = call["x"]
    alpha, beta = np.float32(call["alpha"]), np.float32(call["beta"])
    return np.minimum(np.where(x >= 0, x, alpha * x), beta)


@mil_op("thresholded_relu")
def thresholded_relu(call):
    x = call["x"]
    return np.where(x >= np.float32(call.get("alpha", 1.0)), x, 0).astype(x.dtype)


@mil_op("elu")
def elu(call):
    x = call["x"]
    return np.where(x > 0, x, np.float32(call.get("alpha", 1.0)) * np.expm1(np.minimum(x, 0)))


@mil_op("sigmoid")
def sigmoid(call):
    return special.expit(call["x"])


@mil_op("sigmoid_hard")
def sigmoid_hard(call):
    x = call["x"]
    alpha, beta = np.float32(call.get("alpha", 0.2)), np.float32(call.get("beta", 0.5))
    return np.minimum(np.maximum(alpha * x + beta, 0), 1)


@mil_op("silu")
def silu(call):
    x = call["x"]
    return x * special.expit(x)


@mil_op("scaled_tanh")
def scaled_tanh(call):
    return np.float32(call.get("alpha", 1.0)) * np.tanh(np.float32(call.get("beta", 1.0)) * call["x"])


@mil_op("softplus")
def softplus(call):
    return np.logaddexp(np.float32(0), call["x"])


@mil_op("softplus_parametric")
def softplus_parametric(call):
    x = call["x"]
    return _channel(call["alpha"], x) * np.logaddexp(np.float32(0), _channel(call["beta"], x) * x)


@mil_op("softsign")
def softsign(call):
    x = call["x"]
    return x / (1 + np.abs(x))


@mil_op("linear_activation")
def linear_activation(call):
    return call["x"] * np.float32(call.get("alpha", 1.0)) + np.float32(call.get("beta", 0.0))


@mil_op("prelu")
def prelu(call):
    x = call["x"]
    return np.where(x > 0, x, _channel(call["alpha"], x) * x)


@mil_op("gelu")
def gelu(call):
    x = call["x"]
    mode = str(call.get("mode", "EXACT")).upper()
    if mode == "EXACT":
        return 0.5 * x * (1.0 + special.erf(x / np.sqrt(np.float32(2.0))))
    if mode == "TANH_APPROXIMATION":
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(np.float32(2.0 / np.pi)) * (x + np.float32(0.044715) * x**3)))
    if mode == "SIGMOID_APPROXIMATION":
        return x * special.expit(np.float32(1.702) * x)
    raise ValueError(f"unknown gelu mode {mode!r}")


@mil_op("softmax")
def softmax(call):
    x = call["x"]
    axis = int(call.get("axis", -1))
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
