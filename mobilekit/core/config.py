"""Build configuration: pydantic models validated at the edge, with file-aware error messages.

Every model forbids unknown keys. Values naming registry entries (family, preset, targets)
are checked against the registries here, before any heavy work starts.
"""
from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mobilekit.core.errors import ConfigError

SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
Precision = Literal["fp32", "fp16"]
# Numerics classes a parity tolerance is declared for: float precisions, 8-bit weights (Core ML
# int8 linear, TFLite dynamic range), full-integer compute, and low-bit / sparse weights.
Numerics = Literal["fp32", "fp16", "w8", "int8", "lowbit"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BundleMeta(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    version: Annotated[str, Field(pattern=SEMVER)]
    author: str = "mobilekit"
    license: str = "Apache-2.0"
    description: str = ""


class ClickSamplingConfig(Strict):
    """Xu et al. 2016 click simulation; pixel values refer to `reference_size` and are scaled."""

    max_positive: Annotated[int, Field(ge=1, le=20)] = 5
    max_negative_band: Annotated[int, Field(ge=0, le=20)] = 3
    max_negative_anywhere: Annotated[int, Field(ge=0, le=20)] = 2
    max_negative_objects: Annotated[int, Field(ge=0, le=20)] = 2
    margin: Annotated[float, Field(ge=0)] = 5.0
    spacing: Annotated[float, Field(ge=0)] = 10.0
    band: Annotated[float, Field(gt=0)] = 40.0
    reference_size: Annotated[int, Field(ge=16)] = 320


class CocoSource(Strict):
    annotations: Path
    images: Path
    categories: list[str] | None = None
    min_area: Annotated[int, Field(ge=0)] = 0


class FolderSource(Strict):
    root: Path


class DataConfig(Strict):
    source: Literal["synthetic", "coco", "folders"] = "synthetic"
    image_size: tuple[Annotated[int, Field(ge=32, le=2048, multiple_of=16)], Annotated[int, Field(ge=32, le=2048, multiple_of=16)]] = (128, 128)
    train_samples: Annotated[int, Field(ge=1, le=1_000_000)] = 512
    val_samples: Annotated[int, Field(ge=1, le=100_000)] = 64
    parity_samples: Annotated[int, Field(ge=1, le=256)] = 8
    augment: bool = True
    clicks: ClickSamplingConfig = ClickSamplingConfig()
    coco: CocoSource | None = None
    folders: FolderSource | None = None

    @model_validator(mode="after")
    def _source_settings_present(self) -> "DataConfig":
        if self.source in ("coco", "folders") and getattr(self, self.source) is None:
            raise ValueError(f"source '{self.source}' needs a '{self.source}:' section")
        return self


class TrainingConfig(Strict):
    epochs: Annotated[int, Field(ge=1, le=10_000)] = 10
    batch_size: Annotated[int, Field(ge=1, le=1024)] = 16
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 2e-3
    schedule: Literal["constant", "cosine"] = "cosine"
    checkpoints: bool = True


class CoreMLTargetConfig(Strict):
    deployment_target: Literal["iOS16", "iOS17", "iOS18"] = "iOS16"
    compute_precision: Precision = "fp16"
    compute_units: Literal["all", "cpu_only", "cpu_and_gpu", "cpu_and_ne"] = "all"


class TFLiteTargetConfig(Strict):
    precision: Precision = "fp32"
    # Post-training quantization: dynamic-range int8 weights; full integer (calibrated on the
    # family's training data) with float or int8 inputs/outputs.
    quantization: Literal["none", "dynamic_int8", "int8", "int8_io"] = "none"


class TargetsConfig(Strict):
    coreml: CoreMLTargetConfig = CoreMLTargetConfig()
    tflite: TFLiteTargetConfig = TFLiteTargetConfig()


class Tolerance(Strict):
    """A parity gate for one output. Unset fields are not checked."""

    max_abs: Annotated[float, Field(gt=0)] | None = None
    mean_abs: Annotated[float, Field(gt=0)] | None = None
    min_psnr: Annotated[float, Field(gt=0)] | None = None
    min_task_metric: Annotated[float, Field(ge=0, le=1)] | None = None


class ParityConfig(Strict):
    """Overrides of the family's tolerance table, keyed target -> precision."""

    tolerances: dict[Literal["coreml", "tflite", "onnx"], dict[Numerics, Tolerance]] = {}


class FineTuneConfig(Strict):
    fine_tune_epochs: Annotated[int, Field(ge=0, le=1000)] = 2
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 5e-4


class PruneConfig(FineTuneConfig):
    """Magnitude pruning (tfmot), polynomial-decay schedule from 0 to `sparsity` while fine-tuning."""

    sparsity: Annotated[float, Field(gt=0, lt=1)] = 0.5


class ClusterConfig(FineTuneConfig):
    """Weight clustering (tfmot): `clusters` shared values per weight tensor (→ Core ML palette)."""

    clusters: Annotated[int, Field(ge=2, le=256)] = 16


class QATConfig(FineTuneConfig):
    """Quantization-aware training; the sweep adds its variant when full-int8 post-training
    quantization keeps less than `when_retention_below` of the fp32 metric."""

    learning_rate: Annotated[float, Field(gt=0, le=1)] = 2e-4
    when_retention_below: Annotated[float, Field(ge=0, le=1)] = 0.98


class BudgetConfig(Strict):
    """Quality budget: largest allowed drop of `metric` (absolute; 0.01 = 1 point) vs the fp32
    reference, and optionally an absolute floor the metric must reach."""

    metric: str = "iou"
    max_drop: Annotated[float, Field(ge=0, le=1)] = 0.01
    min_value: Annotated[float, Field(ge=0, le=1)] | None = None


class OptimizeConfig(Strict):
    variants: list[str] | None = None  # default: every registered variant of the build's targets
    select: Literal["none", "smallest_within_budget"] = "none"
    budget: BudgetConfig = BudgetConfig()
    calibration_samples: Annotated[int, Field(ge=1, le=10_000)] = 64
    prune: PruneConfig = PruneConfig()
    cluster: ClusterConfig = ClusterConfig()
    qat: QATConfig = QATConfig()


class BuildConfig(Strict):
    family: str
    preset: str
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    bundle: BundleMeta
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    targets: TargetsConfig = TargetsConfig()
    parity: ParityConfig = ParityConfig()
    optimize: OptimizeConfig = OptimizeConfig()

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        from mobilekit.models import FAMILIES

        if value not in FAMILIES:
            raise ValueError(f"unknown family {value!r}; accepted: {', '.join(FAMILIES.names())}")
        return value

    @model_validator(mode="after")
    def _known_preset(self) -> "BuildConfig":
        from mobilekit.models import FAMILIES

        presets = FAMILIES.get(self.family).presets
        if self.preset not in presets:
            raise ValueError(f"preset: unknown preset {self.preset!r} for family {self.family!r}; accepted: {', '.join(sorted(presets))}")
        return self

    @model_validator(mode="after")
    def _known_optimization(self) -> "BuildConfig":
        from mobilekit.models import FAMILIES
        from mobilekit.optimize.variants import VARIANTS

        for name in self.optimize.variants or ():
            if name not in VARIANTS:
                raise ValueError(f"optimize.variants: unknown variant {name!r}; accepted: {', '.join(VARIANTS.names())}")
        metrics = FAMILIES.get(self.family).budget_metrics
        if self.optimize.budget.metric not in metrics:
            raise ValueError(f"optimize.budget.metric: unknown metric {self.optimize.budget.metric!r} for family "
                             f"{self.family!r}; accepted: {', '.join(metrics)}")
        return self

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def subset_sha256(self, *fields: str) -> str:
        """Hash of selected top-level fields (cache keys for stages that read only those)."""
        dumped = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps({f: dumped[f] for f in fields}, sort_keys=True).encode()).hexdigest()


def default_config_path(family: str = "segmentation") -> Path:
    """The embedded default config shipped inside the package (no download needed)."""
    return Path(str(resources.files("mobilekit.configs") / f"{family}.yaml"))


def _format_error(error: dict[str, Any], model: type[BaseModel]) -> str:
    path = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        parent = _model_at(model, error["loc"][:-1])
        accepted = ", ".join(parent.model_fields) if parent else "see the documentation"
        return f"{path}: unknown key; accepted keys here: {accepted}"
    message = error["msg"].removeprefix("Value error, ")
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
    return f"{path}: {message}{shown}"


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        args = [a for a in getattr(annotation, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = args[0] if args else annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def parse_config(data: Any, source: str) -> BuildConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping at the top level")
    try:
        return BuildConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_format_error(err, BuildConfig) for err in exc.errors()]
        raise ConfigError(f"{source}: invalid config\n" + "\n".join(f"  - {line}" for line in lines)) from None


def load_config(path: Path | str | None = None) -> tuple[BuildConfig, Path]:
    """Load and validate a YAML config (the embedded default when `path` is None)."""
    resolved = Path(path) if path is not None else default_config_path()
    if not resolved.is_file():
        raise ConfigError(f"{resolved}: config file not found")
    try:
        data = yaml.safe_load(resolved.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{resolved}: not valid YAML ({exc})") from None
    return parse_config(data, str(resolved)), resolved
