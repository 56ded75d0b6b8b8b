"""I/O contract of a model we did not build (bring-your-own Keras model): taken from the model."""
from __future__ import annotations

from mobilekit.core.errors import InputError
from mobilekit.models.base import ModelIO, TensorInfo


def io_from_keras(model) -> ModelIO:
    """Float tensor inputs/outputs with batch 1, named after the model's input layers and outputs."""
    inputs = []
    for tensor, name in zip(model.inputs, model.input_names):
        shape = tuple(tensor.shape)[1:]
        if any(d is None for d in shape):
            raise InputError(f"input {name!r} has a dynamic shape {tuple(tensor.shape)}; mobile targets need fixed shapes")
        inputs.append(TensorInfo(name, (1, *shape), f"input {name}"))
    outputs = tuple(TensorInfo(name, (1, *tuple(t.shape)[1:]), f"output {name}") for t, name in zip(model.outputs, model.output_names))
    return ModelIO(tuple(inputs), outputs)
