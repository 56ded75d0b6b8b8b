"""Helpers shared by the op modules: padding arithmetic and sliding-window views."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided


def effective_kernel(kernel: Sequence[int], dilations: Sequence[int]) -> list[int]:
    return [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]


def resolve_pads(
    pad_type: str,
    pad: Sequence[int] | None,
    in_sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[tuple[int, int]]:
    """(before, after) padding per spatial dim, as MIL defines pad_type for conv and pooling.

    same / same_lower: total = max(0, (ceil(in/s) - 1) * s + k_eff - in)  (`_utils.aggregated_pad`);
    `same` puts the odd pixel after (TF "SAME", bottom-right heavy), `same_lower` before.
    """
    pad_type = pad_type.lower()
    k_eff = effective_kernel(kernel, dilations)
    n = len(in_sizes)
    if pad_type == "valid":
        return [(0, 0)] * n
    if pad_type == "custom":
        p = [int(v) for v in (pad if pad is not None else [0] * 2 * n)]
        return [(p[2 * i], p[2 * i + 1]) for i in range(n)]
    if pad_type in ("same", "same_lower"):
        out = []
        for i, k, s in zip(in_sizes, k_eff, strides):
            total = max(0, (math.ceil(i / s) - 1) * s + k - i)
            small, big = total // 2, total - total // 2
            out.append((big, small) if pad_type == "same_lower" else (small, big))
        return out
    raise ValueError(f"unknown pad_type {pad_type!r}")


def windows(
    xp: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    out_sizes: Sequence[int],
) -> np.ndarray:
    """Read-only view (N, C, *out_sizes, *kernel) of a padded (N, C, *spatial) array."""
    st = xp.strides
    n_sp = len(kernel)
    shape = tuple(xp.shape[:2]) + tuple(out_sizes) + tuple(kernel)
    strides_ = (
        tuple(st[:2])
        + tuple(st[2 + i] * strides[i] for i in range(n_sp))
        + tuple(st[2 + i] * dilations[i] for i in range(n_sp))
    )
    return as_strided(xp, shape=shape, strides=strides_, writeable=False)


def pad_spatial(x: np.ndarray, pads: Sequence[tuple[int, int]], value: float = 0.0) -> np.ndarray:
    if all(b == 0 and a == 0 for b, a in pads):
        return x
    return np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads], mode="constant", constant_values=value)


def norm_axis(axis: int, rank: int) -> int:
    axis = int(axis)
    return axis + rank if axis < 0 else axis


def as_list(v) -> list:
    return [] if v is None else np.asarray(v).reshape(-1).tolist()
