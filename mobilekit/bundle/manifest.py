"""Bundle manifest schema (validated on write and on `bundle verify`)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"
MANIFEST_NAME = "manifest.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileEntry(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class TensorEntry(_Strict):
    name: str
    shape: list[int]
    dtype: str
    kind: Literal["image", "tensor"]
    description: str
    normalization: dict[str, Any]
    color_layout: str | None = None


class ArtifactEntry(_Strict):
    """One deployable model file; sizes are read back from the file (optimize/accounting.py)."""

    target: str
    path: str
    precision: str  # numerics class: fp32, fp16, w8, int8, lowbit
    bytes: int  # on disk
    params: int | None = None
    weight_bytes: int | None = None
    bits_per_weight: float | None = None
    sparsity: float | None = None
    details: dict[str, Any]


class Manifest(_Strict):
    schema_version: Literal["1.0"]
    name: str
    version: str
    platform: str
    family: str
    preset: str
    description: str
    author: str
    license: str
    created: str
    config_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    files: dict[str, FileEntry]
    inputs: list[TensorEntry]
    outputs: list[TensorEntry]
    artifacts: list[ArtifactEntry]
    parity: dict[str, dict[str, Any]]
    parity_passed: bool  # every gate that ran passed, and at least one ran
    parity_complete: bool  # every artifact was verified (no gate skipped on this machine)
    optimization: dict[str, Any]
    custom_kernels: list[dict[str, Any]]
    model: dict[str, Any]
    toolchain: dict[str, str | None]
