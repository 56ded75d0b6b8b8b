"""Conversion targets and platforms, as registries."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mobilekit.core.config import BundleMeta
from mobilekit.core.errors import InputError
from mobilekit.core.registry import Registry
from mobilekit.core.tensors import ModelIO


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
    user_metadata: dict[str, str] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None  # representative inputs (name -> batch) for full-integer quantization


class Target(Protocol):
    name: str
    suffix: str
    numerics: tuple[str, ...]  # the numerics classes its artifacts can have (parity tolerances exist for each)

    def convert(self, model, request: ConvertRequest, out_path: Path) -> Artifact: ...


TARGETS: Registry[Target] = Registry("conversion target")
TARGETS.register_lazy("coreml", "mobilekit.convert.coreml:COREML")
TARGETS.register_lazy("tflite", "mobilekit.convert.tflite:TFLITE")
TARGETS.register_lazy("onnx", "mobilekit.convert.onnx:ONNX")

# Which targets a platform bundle carries.
PLATFORMS: dict[str, tuple[str, ...]] = {"ios": ("coreml",), "android": ("tflite",)}


def platform_targets(platform: str) -> tuple[str, ...]:
    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}; accepted: {', '.join(sorted(PLATFORMS))}, all")
    return PLATFORMS[platform]


def target_of(artifact: Path) -> str:
    """The target whose artifacts end like `artifact`."""
    for name in TARGETS:
        if artifact.name.endswith(TARGETS.get(name).suffix):
            return name
    raise InputError(f"{artifact}: unknown artifact type; expected one of: {', '.join(TARGETS.get(n).suffix for n in TARGETS)}")
