"""Run any model a user has on their own inputs: a `.keras` / SavedModel reference (TensorFlow),
a `.tflite` (LiteRT) or an `.mlpackage` (Core ML on macOS, the MIL executor elsewhere), through
the family's own predict pipeline."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mobilekit.convert.base import target_of
from mobilekit.core.errors import InputError
from mobilekit.core.family import ModelFamily, get_family
from mobilekit.core.tensors import ModelIO


@dataclass(frozen=True)
class Predictor:
    """A loaded model at its input size: `predict({input: batch}) -> {output: batch}`."""

    height: int
    width: int
    runner: str
    io: ModelIO
    predict: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def _keras_predictor(path: Path, trust: bool) -> Predictor:
    from mobilekit.convert.context import load_context
    from mobilekit.convert.tracing import call_serving, serving_function

    ctx = load_context(path, trust=trust)
    _, h, w, _ = ctx.io.inputs[0].shape
    fn = serving_function(ctx.model, ctx.io)
    return Predictor(h, w, "tensorflow", ctx.io, lambda inputs: call_serving(fn, inputs))


def _artifact_input_size(path: Path, target: str) -> tuple[int, int]:
    """(H, W) of the artifact's first image-like input (NHWC tensor, or a Core ML image)."""
    if target == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        details = Interpreter(model_path=str(path)).get_signature_runner("serving_default").get_input_details()
        shapes = [tuple(d["shape"]) for _, d in sorted(details.items()) if len(d["shape"]) == 4]
        if not shapes:
            raise InputError(f"{path}: no image-shaped (1, H, W, C) input")
        return int(shapes[0][1]), int(shapes[0][2])
    import coremltools as ct

    spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
    image = next((i for i in spec.description.input if i.type.WhichOneof("Type") == "imageType"), None)
    if image is None:
        raise InputError(f"{path}: no image input")
    return int(image.type.imageType.height), int(image.type.imageType.width)


def _artifact_predictor(path: Path, family: ModelFamily) -> Predictor:
    from mobilekit.parity.verify import runner_for_artifact

    h, w = _artifact_input_size(path, target_of(path))
    io = family.io_for_size(h, w)
    runner, skipped = runner_for_artifact(path)
    if runner is None:
        raise InputError(f"{path}: no runner can execute it here ({'; '.join(skipped)})")
    return Predictor(h, w, runner.name, io, lambda inputs: runner.run(path, inputs, io))


def load_predictor(model: Path, family: ModelFamily, *, trust: bool = False) -> Predictor:
    if not model.exists():
        raise InputError(f"{model}: model not found")
    if model.suffix in (".tflite", ".mlpackage"):
        return _artifact_predictor(model, family)
    return _keras_predictor(model, trust)


def predict(family_name: str, model: Path, *, trust: bool = False, **options: Any) -> dict[str, Any]:
    """Load `model` and run the family's predict pipeline on `options` (its own arguments)."""
    family = get_family(family_name)
    return family.predict(lambda: load_predictor(model, family, trust=trust), **options)
