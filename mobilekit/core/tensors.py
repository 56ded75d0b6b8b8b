"""Model I/O as the mobile side sees it: named tensors with shape, dtype, kind and normalization."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

# "image": an RGB picture (Core ML image type, TFLite image metadata); "mask": per-pixel
# probabilities of labels; "tensor": anything else (click maps, features, depth).
TensorKind = Literal["image", "mask", "tensor"]


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output (batch dimension included).

    `normalization` says how values map to the model's floats (image: scale/bias/mean/std);
    `value_range` is the range an output takes (TFLite metadata min/max); `labels` name the
    channels of a mask output (its TFLite label file)."""

    name: str
    shape: tuple[int, ...]
    description: str
    dtype: str = "float32"
    kind: TensorKind = "tensor"
    color_layout: str | None = None
    normalization: Mapping[str, Any] = field(default_factory=dict)
    value_range: tuple[float, float] | None = None
    labels: tuple[str, ...] = ()

    def to_manifest(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "kind": self.kind,
            "description": self.description,
            "normalization": dict(self.normalization),
        }
        if self.color_layout:
            entry["color_layout"] = self.color_layout
        if self.value_range is not None:
            entry["value_range"] = list(self.value_range)
        if self.labels:
            entry["labels"] = list(self.labels)
        return entry


@dataclass(frozen=True)
class ModelIO:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    def tensor(self, name: str) -> TensorInfo:
        for info in (*self.inputs, *self.outputs):
            if info.name == name:
                return info
        raise KeyError(name)
