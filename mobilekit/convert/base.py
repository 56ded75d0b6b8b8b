"""Conversion targets and platforms, as registries."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mobilekit.core.config import BundleMeta
from mobilekit.core.registry import Registry
from mobilekit.models.base import ModelIO


@dataclass(frozen=True)
class Artifact:
    """A converted, deployable model file (or package directory)."""

    target: str
    path: Path
    precision: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConvertRequest:
    """Everything a target needs besides the model: I/O contract, metadata, target options."""

    io: ModelIO
    meta: BundleMeta
    options: Any  # the target's pydantic options (CoreMLTargetConfig, TFLiteTargetConfig, ...)
    labels: tuple[str, ...] = ()
    user_metadata: dict[str, str] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None  # representative inputs (name -> batch) for full-integer quantization


class Target(Protocol):
    name: str
    suffix: str

    def convert(self, model, request: ConvertRequest, out_path: Path) -> Artifact: ...


TARGETS: Registry[Target] = Registry("conversion target")
TARGETS.register_lazy("coreml", "mobilekit.convert.coreml:COREML")
TARGETS.register_lazy("tflite", "mobilekit.convert.tflite:TFLITE")
TARGETS.register_lazy("onnx", "mobilekit.convert.onnx:ONNX")

# Which targets a platform bundle carries.
PLATFORMS: dict[str, tuple[str, ...]] = {"ios": ("coreml",), "android": ("tflite",)}
