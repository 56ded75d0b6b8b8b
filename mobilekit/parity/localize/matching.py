"""Matching the reference's layer outputs to the candidate program's tensors, by name or by position."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from mobilekit.parity.localize.probe import ReferenceProbe
from mobilekit.parity.runners.intermediates import CandidateRun


@dataclass
class Point:
    layer: str | None
    layer_type: str
    order: int
    ref: np.ndarray
    var: str
    is_output: bool = False


def _sanitize(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


class _LayerNames:
    """Maps a TF-derived tensor name to the Keras layer it belongs to."""

    def __init__(self, model_name: str, layers: Mapping[str, int]):
        self.prefix = _sanitize(model_name) + "_" if model_name else None
        self.order = layers
        self.sanitized = sorted(((_sanitize(n), n) for n in layers), key=lambda p: -len(p[0]))  # longest first

    def layer_of(self, names: list[str]) -> str | None:
        found = [layer for name in names for layer in [self._one(_sanitize(name))] if layer is not None]
        return max(found, key=self.order.__getitem__) if found else None

    def _one(self, name: str) -> str | None:
        if self.prefix and name.startswith(self.prefix):
            rest = name[len(self.prefix) :]
            for clean, layer in self.sanitized:
                if rest == clean or rest.startswith(clean + "_"):
                    return layer
            return None
        padded = f"_{name}_"
        best = None
        for clean, layer in self.sanitized:
            at = padded.find(f"_{clean}_")
            if at >= 0 and (best is None or at < best[0]):
                best = (at, layer)
        return best[1] if best else None


def views(ref: np.ndarray, cand: np.ndarray, channels_first: bool) -> list[np.ndarray]:
    """`cand` laid out like `ref`: as is, and/or moved channel-first -> channel-last."""
    views = [cand] if cand.shape == ref.shape else []
    if channels_first and cand.ndim >= 3:
        moved = np.moveaxis(cand, 1, -1)
        if moved.shape == ref.shape:
            views.append(moved)
    return views


def float_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def match(probe: ReferenceProbe, ref_values: dict[str, np.ndarray], run: CandidateRun,
          skip: set[str]) -> tuple[dict[str, str], str]:
    """layer name -> candidate var id, and how they were matched."""
    order = {layer.name: layer.order for layer in probe.layers}
    names = _LayerNames(getattr(probe.model, "name", "") or "", order)
    matched: dict[str, str] = {}
    candidates = [(out, run.values[out]) for op in run.ops for out in op.outputs if float_array(run.values.get(out))]
    for var, value in candidates:
        layer = names.layer_of(run.labels.get(var, [var]))
        if layer is None or layer in skip or layer not in ref_values:
            continue
        if views(ref_values[layer], value, run.channels_first):
            matched[layer] = var  # the last tensor named after the layer is its output
    if matched:
        return matched, "name"
    ref_seq = [(layer.name, ref_values[layer.name].shape) for layer in probe.layers if layer.name in ref_values and layer.name not in skip]
    return _match_by_position(ref_seq, [(v, a.shape) for v, a in candidates], run.channels_first), "position"


def _match_by_position(ref_seq, cand_seq, channels_first: bool) -> dict[str, str]:
    """Align runs of equal shapes (LCS over run keys) and match the ends of aligned runs."""
    def key(shape):
        shape = tuple(shape)
        return (shape[:1], tuple(sorted(shape[1:]))) if channels_first and len(shape) >= 3 else shape

    def runs(seq):
        out = []
        for item, shape in seq:
            if out and out[-1][0] == key(shape):
                out[-1][1].append((item, shape))
            else:
                out.append((key(shape), [(item, shape)]))
        return out

    ref_runs, cand_runs = runs(ref_seq), runs(cand_seq)
    n, m = len(ref_runs), len(cand_runs)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if ref_runs[i][0] == cand_runs[j][0] else max(table[i + 1][j], table[i][j + 1])
    matched, i, j = {}, 0, 0
    while i < n and j < m:
        if ref_runs[i][0] == cand_runs[j][0]:
            layer, shape = ref_runs[i][1][-1]
            dummy = np.empty(shape, np.float32)
            for var, cshape in reversed(cand_runs[j][1]):
                if views(dummy, np.empty(cshape, np.float32), channels_first):
                    matched[layer] = var
                    break
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return matched


def var_of(point: Point, run: CandidateRun) -> str:
    return run.output_vars.get(point.var, point.var) if point.is_output else point.var
