"""reduce_* ops: `axes` (None = all), `keep_dims` (default False); arg ops take one `axis`."""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op
from mobilekit.parity.mil.ops._common import as_list


def _axes(call, x):
    axes = call.get("axes")
    if axes is None:
        return tuple(range(x.ndim))
    return tuple(int(a) % max(x.ndim, 1) for a in as_list(axes))


def _logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


_REDUCERS = {
    "reduce_sum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "reduce_mean": lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    "reduce_max": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "reduce_min": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "reduce_prod": lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    "reduce_sum_square": lambda x, a, k: np.sum(np.square(x), axis=a, keepdims=k),
    "reduce_l1_norm": lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    "reduce_l2_norm": lambda x, a, k: np.sqrt(np.sum(np.square(x), axis=a, keepdims=k)),
    "reduce_log_sum": lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    "reduce_log_sum_exp": _logsumexp,
}


def _reducer(fn):
    def impl(call):
        x = np.asarray(call["x"])
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(x, _axes(call, x), bool(call.get("keep_dims", False)))

    return impl


for _name, _fn in _REDUCERS.items():
    mil_op(_name)(_reducer(_fn))


def _arg(fn):
    def impl(call):
        x = np.asarray(call["x"])
        axis = int(call.get("axis", -1))
        out = fn(x, axis=axis)
        if bool(call.get("keep_dims", False)):
            out = np.expand_dims(out, axis)
        return out.astype(np.int32)

    return impl


mil_op("reduce_argmax")(_arg(np.argmax))
mil_op("reduce_argmin")(_arg(np.argmin))
