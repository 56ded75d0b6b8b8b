"""A reference model with what we know about it, and what every stage asks of it: its inputs for
parity and its TensorFlow outputs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mobilekit.core.config import BuildConfig, parse_config
from mobilekit.core.family import MAIN_MODULE, ModelFamily, get_family
from mobilekit.core.tensors import ModelIO
from mobilekit.nn.loading import load_keras_model
from mobilekit.train.trainer import SIDECAR_FILE


@dataclass
class ModelContext:
    """A reference model (one module of a family's model, or a model we did not build) and its
    family/config when mobilekit trained it."""

    model: Any
    io: ModelIO
    path: Path
    config: BuildConfig | None = None
    family: ModelFamily | None = None
    module: str = MAIN_MODULE

    @property
    def family_name(self) -> str | None:
        return self.family.name if self.family else None


def load_context(model_path: Path, *, trust: bool = False) -> ModelContext:
    model = load_keras_model(model_path, trust=trust)
    sidecar = model_path.parent / SIDECAR_FILE if model_path.is_file() else model_path / SIDECAR_FILE
    if sidecar.is_file():
        data = json.loads(sidecar.read_text())
        config = parse_config(data["config"], str(sidecar))
        family = get_family(config.family)
        return ModelContext(model, family.io(config), model_path, config, family)
    from mobilekit.nn.keras_io import model_io  # Keras config (tf_keras / Keras 3) or SavedModel signature

    return ModelContext(model, model_io(model), model_path)


def parity_inputs(ctx: ModelContext, samples: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Held-out family data when known; else seeded uniform [0, 1) inputs of the right shapes."""
    if ctx.config is not None and ctx.family is not None and ctx.module == MAIN_MODULE:
        config = ctx.config.model_copy(update={"data": ctx.config.data.model_copy(update={"parity_samples": samples})})
        return ctx.family.make_split(config, "parity").inputs
    rng = np.random.default_rng(seed)
    return {t.name: rng.random((samples, *t.shape[1:]), dtype=np.float32) for t in ctx.io.inputs}


def reference_outputs(ctx: ModelContext, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TensorFlow reference outputs, one case at a time (the shape mobile runtimes see)."""
    from mobilekit.convert.tracing import call_serving, serving_function

    fn = serving_function(ctx.model, ctx.io)
    count = len(next(iter(inputs.values())))
    per_case = [call_serving(fn, {n: a[i : i + 1] for n, a in inputs.items()}) for i in range(count)]
    return {name: np.concatenate([c[name] for c in per_case]) for name in per_case[0]}
