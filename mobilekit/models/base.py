"""The ModelFamily contract every family (segmentation, depth, inpainting) implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping

import numpy as np

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output as the mobile side sees it (batch dimension included)."""

    name: str
    shape: tuple[int, ...]
    description: str
    dtype: str = "float32"
    kind: Literal["image", "tensor"] = "tensor"
    color_layout: str | None = None
    normalization: Mapping[str, Any] = field(default_factory=dict)

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
        return entry


@dataclass(frozen=True)
class ModelIO:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


@dataclass
class Split:
    """Model inputs keyed by input name, and the training target (None where not used)."""

    inputs: dict[str, np.ndarray]
    targets: np.ndarray | None
    extras: dict[str, Any] = field(default_factory=dict)  # family-specific state (e.g. click lists)

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def take(self, count: int) -> "Split":
        return Split({k: v[:count] for k, v in self.inputs.items()}, None if self.targets is None else self.targets[:count])


class ModelFamily(ABC):
    """A model family: presets as data, I/O contract, model builder, data, loss and task metric.

    Modules implementing a family must not import TensorFlow at module level, so that configs
    can be validated against the registry before any heavy import."""

    name: ClassVar[str]
    presets: ClassVar[Mapping[str, Mapping[str, Any]]]
    labels: ClassVar[tuple[str, ...]]
    task_metric_name: ClassVar[str]
    budget_metrics: ClassVar[tuple[str, ...]]  # what `score_outputs` reports (higher is better)

    @abstractmethod
    def io(self, config: "BuildConfig") -> ModelIO: ...

    @abstractmethod
    def build_model(self, config: "BuildConfig"):
        """A compiled-free tf_keras model whose input/output layer names match `io()`."""

    @abstractmethod
    def make_split(self, config: "BuildConfig", split: Literal["train", "val", "parity"]) -> Split: ...

    @abstractmethod
    def loss(self):
        """A tf_keras loss callable."""

    @abstractmethod
    def task_metric(self, reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray]) -> float:
        """Agreement of candidate with reference outputs on the family's task (1.0 = identical)."""

    @abstractmethod
    def evaluate(self, predict, config: "BuildConfig") -> dict[str, float]:
        """Task quality of `predict(inputs: dict) -> dict` on held-out data."""

    @abstractmethod
    def score_outputs(self, outputs: Mapping[str, np.ndarray], split: Split) -> dict[str, float]:
        """Single-pass quality of a model's `outputs` on `split` (the val split's own inputs):
        what compression sweeps compare across variants and runtimes."""

    def refresh_split(self, predict, split: Split, epoch: int, rng: np.random.Generator) -> None:
        """Called by the trainer after each epoch; families that train on the model's own
        errors (interactive segmentation) update `split` in place. Default: nothing."""
