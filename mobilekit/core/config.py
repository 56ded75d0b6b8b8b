"""Build configuration: pydantic models validated at the edge, with file-aware error messages.

Every model forbids unknown keys. Values naming registry entries (family, preset, source, budget
metric) are checked against the registries here, before any heavy work starts; variant names are
checked by the optimize layer before it starts work.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from mobilekit.core.errors import ConfigError
from mobilekit.core.family import FAMILIES

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


class DataConfig(Strict):
    """What every family's data has: a source (one of the family's registered sources), the model's
    input size and split sizes. Source-specific settings live in the family's own section."""

    source: str = "synthetic"
    image_size: tuple[Annotated[int, Field(ge=16, le=8192)], Annotated[int, Field(ge=16, le=8192)]] = (128, 128)
    train_samples: Annotated[int, Field(ge=1, le=10_000_000)] = 512
    val_samples: Annotated[int, Field(ge=1, le=1_000_000)] = 64
    parity_samples: Annotated[int, Field(ge=1, le=256)] = 8
    augment: bool = True
    # Streaming: training reads the split from the content-addressed dataset cache through tf.data
    # (built once, reused by every config that asks for the same data) instead of NumPy arrays.
    stream: bool = False
    cache_dir: str | None = None  # a path or tf.io.gfile URL; default $MOBILEKIT_DATASET_CACHE or ~/.cache/mobilekit/datasets
    shuffle_buffer: Annotated[int, Field(ge=0, le=1_000_000)] = 1024
    hook_pool: Annotated[int, Field(ge=0, le=100_000)] = 256  # streamed: examples kept in memory for model-in-the-loop hooks
    shard_examples: Annotated[int, Field(ge=1, le=1_000_000)] = 512  # examples per TFRecord shard of a dataset built for training
    service: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+:[0-9]{1,5}$")] | None = None  # tf.data service dispatcher host:port

    @model_validator(mode="after")
    def _service_streams(self) -> "DataConfig":
        if self.service and not self.stream:
            raise ValueError("data.service: preprocessing on tf.data service needs data.stream: true")
        return self


class FamilyOptions(Strict):
    """Base of a family's own config section (`<family>:` in YAML), defined by the family."""


class TrainingConfig(Strict):
    epochs: Annotated[int, Field(ge=1, le=10_000)] = 10
    batch_size: Annotated[int, Field(ge=1, le=1024)] = 16
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 2e-3
    schedule: Literal["constant", "cosine"] = "cosine"
    checkpoints: bool = True
    # After the last epoch, re-estimate BatchNorm statistics as the average over this many training
    # batches with the final weights (0: keep the moving averages, which trail a short fast schedule).
    batchnorm_recalibration: Annotated[int, Field(ge=0, le=1000)] = 0


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
    """A parity gate. Unset fields are not checked. The task-metric bounds apply to the family's
    task metric of each output that has one (IoU, AbsRel, hole PSNR: any unit): `min_task_metric`
    to higher-is-better metrics, `max_task_metric` to lower-is-better ones. `outputs` replaces the
    whole gate for the outputs it names."""

    max_abs: Annotated[float, Field(gt=0)] | None = None
    mean_abs: Annotated[float, Field(gt=0)] | None = None
    min_psnr: Annotated[float, Field(gt=0)] | None = None
    min_task_metric: float | None = None
    max_task_metric: float | None = None
    outputs: dict[str, "Tolerance"] | None = None

    def for_output(self, name: str) -> "Tolerance":
        return (self.outputs or {}).get(name) or self.model_copy(update={"outputs": None})


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
    """Quality budget: the largest allowed loss of `metric` against the fp32 reference, in the
    metric's own units and direction (IoU 0.01 = one point lower; AbsRel 0.01 higher; PSNR 0.5 dB
    lower), and optionally the worst acceptable value (`limit`: a floor for higher-is-better
    metrics, a ceiling for lower-is-better ones). `metric` defaults to the family's first metric."""

    metric: str | None = None
    max_drop: Annotated[float, Field(ge=0)] = 0.01
    limit: float | None = None


class OptimizeConfig(Strict):
    variants: list[str] | None = None  # default: every registered variant of the build's targets
    select: Literal["none", "smallest_within_budget"] = "none"
    budget: BudgetConfig = BudgetConfig()
    calibration_samples: Annotated[int, Field(ge=1, le=10_000)] = 64
    prune: PruneConfig = PruneConfig()
    cluster: ClusterConfig = ClusterConfig()
    qat: QATConfig = QATConfig()


class BuildConfig(Strict):
    """One model's build. Validated through `config_type(family)`, the subclass that adds the
    family's own section as the field named after the family."""

    family: str
    preset: str
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    bundle: BundleMeta
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    targets: TargetsConfig = TargetsConfig()
    parity: ParityConfig = ParityConfig()
    optimize: OptimizeConfig = OptimizeConfig()

    @model_validator(mode="after")
    def _family_checks(self) -> "BuildConfig":
        family = FAMILIES.get(self.family)
        if self.preset not in family.presets:
            raise ValueError(f"preset: unknown preset {self.preset!r} for family {self.family!r}; accepted: {', '.join(sorted(family.presets))}")
        if self.optimize.budget.metric is not None and self.optimize.budget.metric not in family.metric_names:
            raise ValueError(f"optimize.budget.metric: unknown metric {self.optimize.budget.metric!r} for family "
                             f"{self.family!r}; accepted: {', '.join(family.metric_names)}")
        if self.data.source not in family.sources:
            raise ValueError(f"data.source: unknown source {self.data.source!r} for family {self.family!r}; "
                             f"accepted: {', '.join(family.sources.names())}")
        family.validate_config(self)
        return self

    @property
    def options(self) -> FamilyOptions:
        """The family's own section."""
        return getattr(self, self.family)

    @property
    def budget_metric(self) -> str:
        return self.optimize.budget.metric or FAMILIES.get(self.family).metrics[0].name

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def subset_sha256(self, *fields: str) -> str:
        """Hash of selected top-level fields (cache keys for stages that read only those)."""
        dumped = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps({f: dumped[f] for f in fields}, sort_keys=True).encode()).hexdigest()


@functools.cache
def config_type(family: str) -> type[BuildConfig]:
    """BuildConfig with the family's section as field `<family>` (a union discriminated by `family`,
    resolved through the registry so families registered at run time validate the same way)."""
    options = FAMILIES.get(family).options_type
    if family in BuildConfig.model_fields:
        raise ValueError(f"family name {family!r} collides with a config field")
    return create_model(f"BuildConfig_{family}", __base__=BuildConfig, **{family: (options, options())})


class ModelSetConfig(Strict):
    """An SDK model set: one bundle per platform holding every listed model (paths relative to this file)."""

    bundle: BundleMeta
    models: Annotated[list[Path], Field(min_length=1)]


DEFAULT_MODEL_SET = "sdk"  # what `build` makes with no config: the SDK's set of all three default models
DEFAULT_MODEL = "segmentation"  # what single-model commands (train, eval, optimize, ...) use with no config


def default_config_path(name: str = DEFAULT_MODEL) -> Path:
    """An embedded config shipped inside the package (no download needed): a model's
    (`segmentation`, `depth`, `inpainting`, ...) or the SDK model set (`sdk`)."""
    return Path(str(resources.files("mobilekit.configs") / f"{name}.yaml"))


def _format_error(error: dict[str, Any], model: type[BaseModel]) -> str:
    path = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        parent = _model_at(model, error["loc"][:-1])
        accepted = ", ".join(parent.model_fields) if parent else "see the documentation"
        return f"{path}: unknown key; accepted keys here: {accepted}"
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"] and re.match(r"^[A-Za-z_][\w.]*: ", message):  # a whole-config check that names its field
        return message
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


def _validated(model: type[BaseModel], data: dict, source: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [_format_error(err, model) for err in exc.errors()]
        raise ConfigError(f"{source}: invalid config\n" + "\n".join(f"  - {line}" for line in lines)) from None


def parse_config(data: Any, source: str) -> BuildConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping at the top level")
    family = data.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        raise ConfigError(f"{source}: invalid config\n  - family: unknown family {family!r}; accepted: {', '.join(FAMILIES.names())}")
    return _validated(config_type(family), data, source)


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def load_config(path: Path | str | None = None) -> tuple[BuildConfig, Path]:
    """Load and validate a YAML config (the embedded default when `path` is None)."""
    resolved = Path(path) if path is not None else default_config_path()
    data = _read_yaml(resolved)
    if isinstance(data, dict) and "models" in data:
        raise ConfigError(f"{resolved}: this is a model set (it lists `models:`); this command takes one model's config")
    return parse_config(data, str(resolved)), resolved


def load_build_spec(path: Path | str | None = None) -> tuple[list[BuildConfig], ModelSetConfig | None, Path]:
    """A model's config, or an SDK model set with every listed config validated (all before any work);
    with no path, the embedded SDK set."""
    resolved = Path(path) if path is not None else default_config_path(DEFAULT_MODEL_SET)
    data = _read_yaml(resolved)
    if not (isinstance(data, dict) and "models" in data):
        return [parse_config(data, str(resolved))], None, resolved
    model_set = _validated(ModelSetConfig, data, str(resolved))
    configs = [load_config(p if p.is_absolute() else resolved.parent / p)[0] for p in model_set.models]
    names = [c.bundle.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{resolved}: models: every model needs its own bundle.name; got {names}")
    return configs, model_set, resolved
