"""Run any model a user has on their own inputs: a `.keras` / SavedModel reference (TensorFlow),
a `.tflite` (LiteRT) or an `.mlpackage` (Core ML on macOS, the MIL executor elsewhere), through
the family's own predict pipeline."""
from __future__ import annotations

import inspect
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


def _artifact_inputs(path: Path, target: str) -> dict[str, tuple[int, ...]]:
    """Input name -> NHWC shape of the artifact's end-to-end function / signature."""
    if target == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        from mobilekit.parity.runners.litert import SIGNATURE

        try:
            details = Interpreter(model_path=str(path)).get_signature_runner(SIGNATURE).get_input_details()
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"{path}: not a readable TFLite model with a {SIGNATURE!r} signature ({exc})") from None
        return {name: tuple(int(v) for v in d["shape"]) for name, d in details.items()}
    from mobilekit.core.native import import_coremltools

    ct = import_coremltools()
    try:
        spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
    except Exception as exc:  # coremltools raises plain exceptions for unreadable packages
        raise InputError(f"{path}: not a readable Core ML package ({exc})") from None
    description = spec.description
    if len(description.functions):  # a multifunction package: its default function
        default = description.defaultFunctionName or description.functions[0].name
        features = next(f for f in description.functions if f.name == default).input
    else:
        features = description.input
    shapes = {}
    for feature in features:
        kind = feature.type.WhichOneof("Type")
        if kind == "imageType":
            shapes[feature.name] = (1, int(feature.type.imageType.height), int(feature.type.imageType.width), 3)
        elif kind == "multiArrayType":
            shapes[feature.name] = tuple(int(d) for d in feature.type.multiArrayType.shape)
    return shapes


def _artifact_predictor(path: Path, family: ModelFamily) -> Predictor:
    from mobilekit.parity.verify import runner_for_artifact

    shapes = _artifact_inputs(path, target_of(path))
    images = [shape for shape in shapes.values() if len(shape) == 4]
    if not images:
        raise InputError(f"{path}: no image-shaped (1, H, W, C) input")
    h, w = images[0][1], images[0][2]
    io = family.io_for_size(h, w)
    expected = {t.name: t.shape for t in io.inputs}
    if {n: tuple(s) for n, s in expected.items()} != shapes:
        raise InputError(f"{path}: not a {family.name} model: its inputs are {shapes}, the {family.name} family's "
                         f"end-to-end model takes {expected}")
    runner, skipped = runner_for_artifact(path)
    if runner is None:
        raise InputError(f"{path}: no runner can execute it here ({'; '.join(skipped)})")
    return Predictor(h, w, runner.name, io, lambda inputs: runner.run(path, inputs, io))


def load_predictor(model: Path, family: ModelFamily, *, trust: bool = False) -> Predictor:
    if not model.exists():
        raise InputError(f"{model}: model not found")
    if model.suffix in (".tflite", ".mlpackage"):
        from mobilekit.nn.model_files import validate_model_file

        validate_model_file(model)  # garbage or truncated artifacts: exit 2 naming the file
        return _artifact_predictor(model, family)
    return _keras_predictor(model, trust)


def _check_options(family: ModelFamily, options: dict[str, Any]) -> None:
    """An option the family's predict pipeline does not take is bad input (exit 2), not a TypeError."""
    parameters = inspect.signature(family.predict).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    taken = [name for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(taken))
    if unknown:
        shown = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise InputError(f"the {family.name} family's predict pipeline does not take {shown}; it takes: "
                         f"{', '.join(taken) or 'nothing'}")


def predict(family_name: str, model: Path, *, trust: bool = False, **options: Any) -> dict[str, Any]:
    """Load `model` and run the family's predict pipeline on `options` (its own arguments). The
    family checks its options (output paths, the photo, clicks) before the model is loaded."""
    family = get_family(family_name)
    _check_options(family, options)
    return family.predict(lambda: load_predictor(model, family, trust=trust), **options)
