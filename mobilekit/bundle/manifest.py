"""Bundle manifest schema (validated on write and on `bundle verify`)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.2"  # 1.1: `modules` per model; model-set bundles (`kind: model-set`, `models`); 1.2: `parity_emulated`, artifact `io`
READABLE_VERSIONS = ("1.0", "1.1", SCHEMA_VERSION)  # bundles written by earlier versions still verify
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "signature.json"  # Ed25519 signature of manifest.json (bundle/signing.py); never listed in `files`


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileEntry(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class TensorEntry(_Strict):
    name: str
    shape: list[int]
    dtype: str
    kind: Literal["image", "mask", "tensor"]
    description: str
    normalization: dict[str, Any]
    color_layout: str | None = None
    value_range: list[float] | None = None
    labels: list[str] | None = None


class ModuleEntry(_Strict):
    """One exportable module of a model: its boundary tensors, the modules feeding it, its artifacts."""

    name: str
    inputs: list[TensorEntry]
    outputs: list[TensorEntry]
    feeds: list[str]
    artifacts: list[str]


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
    io: dict[str, Any] | None = None  # inputs/outputs as the artifact itself takes them (mobilekit.convert.artifact_io)


class ModelSection(_Strict):
    """Everything about one model in a bundle (the whole manifest of a single-model bundle)."""

    name: str
    version: str
    family: str
    preset: str
    description: str
    config_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    inputs: list[TensorEntry]
    outputs: list[TensorEntry]
    modules: list[ModuleEntry] = []
    artifacts: list[ArtifactEntry]
    parity: dict[str, dict[str, Any]]
    parity_passed: bool  # every gate that ran passed, and at least one ran
    parity_complete: bool  # every artifact was verified by a runner executing it (none skipped or emulated)
    parity_emulated: list[dict[str, Any]] = []  # gates passed by a runner that emulates the artifact's runtime
    optimization: dict[str, Any]
    custom_kernels: list[dict[str, Any]]
    model: dict[str, Any]


class _BundleFields(_Strict):
    schema_version: str
    platform: str
    author: str
    license: str
    created: str
    files: dict[str, FileEntry]
    toolchain: dict[str, str | None]

    @field_validator("schema_version")
    @classmethod
    def _readable(cls, value: str) -> str:
        if value not in READABLE_VERSIONS:
            raise ValueError(f"unsupported schema_version {value!r}; this mobilekit reads {', '.join(READABLE_VERSIONS)}")
        return value


class Manifest(_BundleFields, ModelSection):
    """A single-model bundle: its model section at the top level."""


class ModelEntry(ModelSection):
    root: str  # the folder of this model's files inside the bundle ("<name>/")


class ModelSetManifest(_BundleFields):
    """An SDK model-set bundle: one section per model, each under its own folder."""

    kind: Literal["model-set"]
    name: str
    version: str
    description: str
    models: list[ModelEntry]
    parity_passed: bool
    parity_complete: bool


def manifest_model(manifest: dict[str, Any]) -> type[_BundleFields]:
    """The schema class a manifest dict claims to follow."""
    return ModelSetManifest if manifest.get("kind") == "model-set" else Manifest


def model_sections(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every model section of a manifest, single-model or set."""
    return list(manifest["models"]) if manifest.get("kind") == "model-set" else [manifest]
