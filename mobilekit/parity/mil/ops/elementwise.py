"""Elementwise binary / unary / logical ops, select, clip, threshold, cast.

Binary ops broadcast NumPy-style. The result is rounded by the executor to the dtype the
program declares (e.g. real_div on int32 truncates there). Unary ops with an epsilon:
inverse 1/(x+eps) (default 1e-4), rsqrt 1/sqrt(x+eps) (1e-12), log log(x+eps) (1e-45).
round is round-half-to-even (the op's value_inference uses np.round).
"""
from __future__ import annotations

import numpy as np
from scipy import special

from mobilekit.parity.mil.ops.registry import mil_op

_BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "real_div": np.true_divide,
    "floor_div": lambda x, y: np.floor_divide(x, y),
    "pow": np.power,
    "mod": np.mod,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "equal": np.equal,
    "not_equal": np.not_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "less": np.less,
    "less_equal": np.less_equal,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
}


def _binary(fn):
    def impl(call):
        x, y = call["x"], call["y"]
        if fn is np.power and np.issubdtype(np.asarray(x).dtype, np.integer):
            y = np.asarray(y).astype(np.float64)
            return np.power(np.asarray(x, dtype=np.float64), y)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(x, y)

    return impl


for _name, _fn in _BINARY.items():
    mil_op(_name)(_binary(_fn))


_UNARY = {
    "abs": np.abs,
    "acos": np.arccos,
    "asin": np.arcsin,
    "atan": np.arctan,
    "atanh": np.arctanh,
    "ceil": np.ceil,
    "cos": np.cos,
    "cosh": np.cosh,
    "erf": special.erf,
    "exp": np.exp,
    "exp2": np.exp2,
    "floor": np.floor,
    "round": np.round,
    "sign": np.sign,
    "sin": np.sin,
    "sinh": np.sinh,
    "sqrt": np.sqrt,
    "square": np.square,
    "tan": np.tan,
    "tanh": np.tanh,
    "logical_not": np.logical_not,
}


def _unary(fn):
    def impl(call):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(call["x"])

    return impl


for _name, _fn in _UNARY.items():
    mil_op(_name)(_unary(_fn))


@mil_op("inverse")
def inverse(call):
    with np.errstate(divide="ignore"):
        return 1.0 / (call["x"] + np.float32(call.get("epsilon", 1e-4)))


@mil_op("rsqrt")
def rsqrt(call):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / np.sqrt(call["x"] + np.float32(call.get("epsilon", 1e-12)))


@mil_op("log")
def log(call):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(call["x"] + np.float32(call.get("epsilon", 1e-45)))


@mil_op("select")
def select(call):
    return np.where(np.asarray(call["cond"]).astype(bool), call["a"], call["b"])


@mil_op("clip")
def clip(call):
    return np.minimum(np.maximum(call["x"], call["alpha"]), call["beta"])


@mil_op("threshold")
def threshold(call):
    return np.maximum(call["x"], call["alpha"])


@mil_op("cast")
def cast(call):
    # the executor casts to the declared output dtype (fp16 rounding, float->int truncation)
    x = np.asarray(call["x"])
    if str(call["dtype"]) == "bool":
        return x != 0
    return x
