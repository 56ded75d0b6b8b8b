"""The contract every model family implements, and the registry the shared layers find families by.

A family owns its config section, presets, network, data, losses, metrics, tolerances and predict
pipeline (all under `mobilekit/families/<name>/`). The shared layers (train, optimize, convert,
parity, qa, bundle, pipeline) only ever reach a family through `FAMILIES` and this contract.
Family modules must not import TensorFlow at module level, so that configs validate before any
heavy import.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Literal, Mapping, Protocol, Sequence

import numpy as np
from pydantic import BaseModel

from mobilekit.core.registry import Registry
from mobilekit.core.tensors import ModelIO

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig, FamilyOptions

Predict = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
SplitName = Literal["train", "val", "parity"]
Example = dict[str, np.ndarray]  # one sample's tensors by name: model inputs, targets, "extra/<name>" family state
EXTRA_PREFIX = "extra/"


def split_size(config: "BuildConfig", split: SplitName) -> int:
    """How many samples `split` has (`data.<split>_samples`)."""
    return {"train": config.data.train_samples, "val": config.data.val_samples, "parity": config.data.parity_samples}[split]


@dataclass(frozen=True)
class MetricSpec:
    """A quality metric: which way is better, its unit, and the range it can take (None: unbounded)."""

    name: str
    direction: Literal["higher", "lower"] = "higher"
    unit: str = ""
    bounds: tuple[float | None, float | None] = (None, None)

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"

    def drop(self, reference: float, value: float) -> float:
        """How much worse `value` is than `reference`, in the metric's units (negative: better)."""
        return reference - value if self.higher_is_better else value - reference

    def retention(self, reference: float, value: float) -> float | None:
        """Share of the reference quality kept (1.0 = same; > 1 better), None when undefined."""
        if self.higher_is_better:
            return value / reference if reference else None
        return reference / value if value else None

    @property
    def perfect(self) -> float:
        """The value of a perfect result (agreement of identical outputs)."""
        low, high = self.bounds
        if self.higher_is_better:
            return float("inf") if high is None else high
        return 0.0 if low is None else low

    def within(self, value: float, limit: float) -> bool:
        """`value` is at least (higher-is-better) or at most (lower-is-better) `limit`."""
        return value >= limit if self.higher_is_better else value <= limit


@dataclass(frozen=True)
class TaskMetric:
    """Agreement of a converted output with the reference output on the family's task
    (segmentation: mask IoU), computed per output by parity and device QA."""

    spec: MetricSpec
    agreement: Callable[..., float]  # (reference batch, candidate batch[, inputs]) -> value
    uses_inputs: bool = False  # agreement also takes the batch's inputs by name (e.g. the hole mask)

    def value(self, reference: np.ndarray, candidate: np.ndarray, inputs: Mapping[str, np.ndarray] | None) -> float | None:
        """The agreement, or None when it needs inputs that were not given."""
        if self.uses_inputs:
            return None if inputs is None else float(self.agreement(reference, candidate, inputs))
        return float(self.agreement(reference, candidate))


@dataclass
class Split:
    """Model inputs and training targets keyed by tensor name (targets empty where not used)."""

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # family-specific state (e.g. click lists)

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def take(self, count: int) -> "Split":
        return Split({k: v[:count] for k, v in self.inputs.items()}, {k: v[:count] for k, v in self.targets.items()})


@dataclass(frozen=True)
class Module:
    """One exportable piece of a family's model: converted, checked and shipped on its own.

    `model` is a tf_keras model whose input/output layer names match `io`; `feeds` names the
    modules whose outputs it consumes (an input named like another module's output is fed by it)."""

    name: str
    model: Any
    io: ModelIO
    feeds: tuple[str, ...] = ()

    def to_manifest(self) -> dict[str, Any]:
        return {"name": self.name, "inputs": [t.to_manifest() for t in self.io.inputs],
                "outputs": [t.to_manifest() for t in self.io.outputs], "feeds": list(self.feeds)}


MAIN_MODULE = "main"  # the end-to-end model every family exports


class EpochHook(Protocol):
    """Called by the trainer after every epoch but the last (e.g. iterative click training updates
    the training split in place from the current model's own errors)."""

    def __call__(self, predict: Predict, split: Split, epoch: int, rng: np.random.Generator) -> None: ...


class TrainingStep(Protocol):
    """A family's own training step, for training that compile/fit cannot express (adversarial
    training with discriminators that are never exported). The trainer owns batching, epochs,
    progress and checkpoints; the step owns optimizers and auxiliary models."""

    def build(self, model: Any, config: "BuildConfig", learning_rate: Any) -> None:
        """Create optimizers and auxiliary (never exported) models for `model`."""

    def step(self, inputs: dict[str, Any], targets: dict[str, Any]) -> dict[str, Any]:
        """One update on a batch (tensors by name); returns named scalar losses, `loss` among them."""


class ModelFamily(ABC):
    """A model family; see the module docstring. Class attributes are data; methods build things."""

    name: ClassVar[str]
    options_type: ClassVar[type["FamilyOptions"]]  # the family's own config section, `<name>:` in YAML
    preset_type: ClassVar[type[BaseModel]]
    presets: ClassVar[Mapping[str, BaseModel]]
    metrics: ClassVar[tuple[MetricSpec, ...]]  # what `score_outputs` reports; budgets choose from these
    task_metrics: ClassVar[Mapping[str, TaskMetric]]  # by output name
    module_names: ClassVar[tuple[str, ...]] = (MAIN_MODULE,)  # what `modules()` returns, known before a model exists
    sources: ClassVar[Registry[Any]]  # `data.source` -> `SourceHandler` (mobilekit.data.sources) yielding the family's samples
    example_options: ClassVar[tuple[str, ...]] = ()  # config paths `iter_examples` reads besides data.* and seed
    examples_version: ClassVar[int] = 1  # bumped when `iter_examples` changes what it yields for the same config
    example_storage: ClassVar[Mapping[str, str]] = {}  # compact cache encodings by key ("unit8", "unit16"; data/cache/codec.py)
    tolerances: ClassVar[Mapping[str, Any]]  # parity table: target -> numerics -> Tolerance fields

    # ---- config
    def validate_config(self, config: "BuildConfig") -> None:
        """Cross-field checks on a whole config (raise ValueError naming the field). Default: none."""

    # ---- model
    @abstractmethod
    def io_for_size(self, height: int, width: int) -> ModelIO:
        """The end-to-end model's inputs and outputs at input size height × width."""

    def io(self, config: "BuildConfig") -> ModelIO:
        return self.io_for_size(*config.data.image_size)

    @abstractmethod
    def build_model(self, config: "BuildConfig"):
        """The end-to-end tf_keras model (not compiled); layer names match `io()`."""

    def module_names_for(self, config: "BuildConfig") -> tuple[str, ...]:
        """What `modules()` returns for `config`, known before a model exists (presets may differ)."""
        return self.module_names

    def modules(self, config: "BuildConfig", model) -> tuple[Module, ...]:
        """The exportable modules of a trained end-to-end `model`. Default: the model alone."""
        return (Module(MAIN_MODULE, model, self.io(config)),)

    # ---- data and training
    @abstractmethod
    def iter_examples(self, config: "BuildConfig", split: SplitName) -> Iterator[Example]:
        """The `split_size(config, split)` samples of `split`, one at a time and deterministic for the
        config: what `make_split` stacks and the dataset cache stores as TFRecords."""

    def make_split(self, config: "BuildConfig", split: SplitName) -> Split:
        """The whole split in memory."""
        return self.assemble_split(config, list(self.iter_examples(config, split)))

    def assemble_split(self, config: "BuildConfig", examples: Sequence[Example]) -> Split:
        """Stack examples into a `Split`: the model's inputs, `extra/<name>` entries as per-sample
        lists in `extras`, everything else a target. Families override it to rebuild richer state."""
        if not examples:
            raise ValueError("a split needs at least one example")
        names = {t.name for t in self.io(config).inputs}
        inputs, targets, extras = {}, {}, {}
        for key in examples[0]:
            if key.startswith(EXTRA_PREFIX):
                extras[key[len(EXTRA_PREFIX):]] = [e[key] for e in examples]
            else:
                (inputs if key in names else targets)[key] = np.stack([e[key] for e in examples])
        return Split(inputs, targets, extras)

    @abstractmethod
    def losses(self, config: "BuildConfig") -> Mapping[str, Any]:
        """A tf_keras loss per trained output."""

    def loss_weights(self, config: "BuildConfig") -> Mapping[str, float] | None:
        """Weight per output in the total loss; None: all 1."""
        return None

    def training_step(self, config: "BuildConfig") -> TrainingStep | None:
        """A custom training step, or None to train with compile/fit on `losses()`."""
        return None

    def epoch_hooks(self, config: "BuildConfig") -> Sequence[EpochHook]:
        return ()

    # ---- quality
    @abstractmethod
    def evaluate(self, predict: Predict, config: "BuildConfig") -> dict[str, float]:
        """Task quality of `predict` on held-out data (the `eval` command)."""

    @abstractmethod
    def score_outputs(self, outputs: Mapping[str, np.ndarray], split: Split) -> dict[str, float]:
        """Single-pass quality of a model's `outputs` on `split` (the val split's own inputs), one
        value per `metrics` entry: what compression sweeps compare across variants and runtimes."""

    # ---- use
    def predict(self, load_predictor: Callable[[], Any], **options: Any) -> dict[str, Any]:
        """The family's predict pipeline on a user's inputs (`mobilekit predict <family>`): checks
        `options`, then calls `load_predictor()` for the model. Default: the family has none."""
        from mobilekit.core.errors import InputError

        raise InputError(f"the {self.name} family has no predict pipeline")

    def metric(self, name: str) -> MetricSpec:
        for spec in self.metrics:
            if spec.name == name:
                return spec
        raise KeyError(f"unknown metric {name!r} for family {self.name!r}; accepted: {', '.join(m.name for m in self.metrics)}")

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)


FAMILIES: Registry[ModelFamily] = Registry("model family")
FAMILIES.register_lazy("segmentation", "mobilekit.families.segmentation:SEGMENTATION")
FAMILIES.register_lazy("depth", "mobilekit.families.depth:DEPTH")
FAMILIES.register_lazy("inpainting", "mobilekit.families.inpainting:INPAINTING")


def get_family(name: str) -> ModelFamily:
    return FAMILIES.get(name)
