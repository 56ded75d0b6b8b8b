"""Build variants from one trained model: the training-time passes run once and are shared by
every variant that needs them; conversion and compression run per variant."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mobilekit.convert.base import Artifact
from mobilekit.convert.context import ModelContext
from mobilekit.core.config import BuildConfig, BundleMeta, CoreMLTargetConfig, OptimizeConfig, TFLiteTargetConfig
from mobilekit.core.registry import Registry
from mobilekit.core.family import Split
from mobilekit.optimize.variants import VARIANTS, Variant

# Registry name = the `optimize:` config section holding the pass's settings.
# (model, split, loss, settings, batch size, seed) -> (optimized tf_keras model, report)
TrainingPass = Callable[..., tuple[Any, dict[str, Any]]]
TRAINING_PASSES: Registry[TrainingPass] = Registry("training-time optimization pass")
TRAINING_PASSES.register_lazy("prune", "mobilekit.optimize.prune:prune_keras")
TRAINING_PASSES.register_lazy("cluster", "mobilekit.optimize.cluster:cluster_keras")
TRAINING_PASSES.register_lazy("qat", "mobilekit.optimize.qat:qat_keras")


def _ios(version: str) -> int:
    return int(version.removeprefix("iOS"))


class FamilyData:
    """Fine-tuning and calibration data from the config's family data pipeline."""

    def __init__(self, family, config: BuildConfig) -> None:
        self.family, self.config = family, config
        self._train: Split | None = None

    def train_split(self) -> Split:
        if self._train is None:
            self._train = self.family.make_split(self.config, "train")
        return self._train

    def calibration(self, samples: int) -> dict:
        """The first `samples` training samples (same generator, so a prefix of the training set)."""
        data = self.config.data.model_copy(update={"train_samples": samples})
        return self.family.make_split(self.config.model_copy(update={"data": data}), "train").inputs


class ArrayData:
    """A user's own data for their own model: an `.npz` with one array per model input (named like
    the inputs) and, for fine-tuning, a `targets` array."""

    def __init__(self, path: Path, input_names: list[str], output_names: list[str] | None = None) -> None:
        from mobilekit.core.errors import InputError

        try:
            with np.load(path, allow_pickle=False) as archive:  # never unpickle user files
                self.arrays = {k: np.asarray(archive[k], np.float32) for k in archive.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable .npz of float arrays ({exc})") from None
        missing = [n for n in input_names if n not in self.arrays]
        if missing:
            raise InputError(f"{path}: missing array(s) for model input(s) {', '.join(missing)}; found {', '.join(sorted(self.arrays))}")
        self.path, self.input_names, self.output_names = path, input_names, output_names or []

    def train_split(self) -> Split:
        from mobilekit.core.errors import InputError

        if "targets" not in self.arrays:
            raise InputError(f"{self.path}: fine-tuning needs a 'targets' array beside the inputs")
        if len(self.output_names) != 1:
            raise InputError(f"{self.path}: a 'targets' array trains a single-output model; this one has {len(self.output_names)} outputs")
        return Split({n: self.arrays[n] for n in self.input_names}, {self.output_names[0]: self.arrays["targets"]})

    def calibration(self, samples: int) -> dict:
        return {n: self.arrays[n][:samples] for n in self.input_names}


class NoData:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def train_split(self) -> Split:
        from mobilekit.core.errors import InputError

        raise InputError(f"fine-tuning needs training data: {self.reason}")

    def calibration(self, samples: int) -> dict:
        from mobilekit.core.errors import InputError

        raise InputError(f"full-integer quantization needs representative inputs: {self.reason}")


class VariantProducer:
    """Produces `Variant` artifacts for one model (`convert.context.ModelContext`): training-time passes
    follow `optimize`, their data (and calibration inputs) come from `data`. A family's modules
    (an extractor and heads) are derived from the same optimized end-to-end model."""

    def __init__(self, ctx, optimize: OptimizeConfig, data, *, coreml: CoreMLTargetConfig | None = None, batch_size: int = 16,
                 seed: int = 0, progress: Callable[[str], None] = lambda message: None) -> None:
        self.base = ctx
        self.optimize = optimize
        self.data = data
        self.coreml = coreml or CoreMLTargetConfig()
        self.batch_size, self.seed = batch_size, seed
        self.progress = progress
        self._derived: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._calibration: dict | None = None
        self.artifacts: dict[str, Artifact] = {}  # what produce() built, by variant name

    def source(self, training_pass: str | None):
        """The model context a variant converts (the trained model, or its pruned/clustered/QAT copy) and the pass report."""
        if training_pass is None:
            return self.base, {}
        if training_pass not in self._derived:
            from mobilekit.convert.context import ModelContext

            self.progress(f"training-time pass: {training_pass} (fine-tuning)")
            model, report = TRAINING_PASSES.get(training_pass)(self.base.model, self.data.train_split(), self.loss(),
                                                                getattr(self.optimize, training_pass), self.batch_size, self.seed)
            self._derived[training_pass] = (ModelContext(model, self.base.io, self.base.path, self.base.config, self.base.family), report)
        return self._derived[training_pass]

    def module_source(self, training_pass: str | None, module: str):
        """`source(training_pass)` as the context of one of the family's modules."""
        ctx, report = self.source(training_pass)
        if module == ctx.module:
            return ctx, report
        for spec in ctx.family.modules(ctx.config, ctx.model):
            if spec.name == module:
                return ModelContext(spec.model, spec.io, ctx.path, ctx.config, ctx.family, spec.name), report
        raise KeyError(f"family {ctx.family_name!r} has no module {module!r}")

    def loss(self):
        if self.base.family:
            return dict(self.base.family.losses(self.base.config))
        return {t.name: "mse" for t in self.base.io.outputs}

    def calibration(self) -> dict:
        if self._calibration is None:
            self._calibration = self.data.calibration(self.optimize.calibration_samples)
        return self._calibration

    def produce(self, name: str, out_dir: Path, meta: BundleMeta | None = None, module: str | None = None
                ) -> tuple[Artifact, Any, dict[str, Any]]:
        """Convert and compress variant `name` (of `module`, default the producer's model) into
        `out_dir`: (artifact, the context it was converted from — its parity reference —, the
        training-time pass report)."""
        from mobilekit.convert.request import convert_artifact, convert_request
        from mobilekit.optimize.coreml import compress_mlpackage

        variant = VARIANTS.get(name)
        ctx, report = self.module_source(variant.training_pass, module or self.base.module)
        request = convert_request(ctx, variant.target, meta, self._options(variant))
        calibration = self.calibration() if variant.quantization in ("int8", "int8_io") else None
        request = replace(request, calibration=calibration, user_metadata={**request.user_metadata, "mobilekit.variant": name})
        artifact = convert_artifact(ctx, variant.target, out_dir, request)
        compress_mlpackage(artifact.path, variant.coreml_passes)
        details = {**artifact.details, "variant": name, "compute_precision": variant.precision, "steps": variant.steps}
        if variant.target == "coreml" and "deployment_target" in details:
            details["deployment_target"] = request.options.deployment_target
        built = Artifact(artifact.target, artifact.path, variant.numerics, details)
        if ctx.module == self.base.module:
            self.artifacts[name] = built
        return built, ctx, report

    def _options(self, variant: Variant):
        if variant.target == "tflite":
            return TFLiteTargetConfig(precision=variant.precision, quantization=variant.quantization)
        options = self.coreml.model_copy(update={"compute_precision": variant.precision})
        if variant.deployment_target and _ios(variant.deployment_target) > _ios(options.deployment_target):
            options = options.model_copy(update={"deployment_target": variant.deployment_target})
        return options


def producer_for(ctx, config: BuildConfig, progress: Callable[[str], None] = lambda message: None) -> VariantProducer:
    """The producer for a model mobilekit trained from `config` (its family's data pipeline)."""
    return VariantProducer(ctx, config.optimize, FamilyData(ctx.family, config), coreml=config.targets.coreml,
                           batch_size=config.training.batch_size, seed=config.seed, progress=progress)
