"""The TensorFlow reference probe: the model run once with every Keras layer output exposed."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass
class _Layer:
    name: str
    type: str
    order: int
    parents: list[str]


class ReferenceProbe:
    """The model with every single-output layer's output exposed (None parts for models without
    a functional layer graph, e.g. a SavedModel signature or a subclassed model)."""

    def __init__(self, model, probe, layers: list[_Layer], output_layers: list[str | None], input_names: list[str] | None):
        self.model, self.probe, self.layers, self.output_layers, self.input_names = model, probe, layers, output_layers, input_names
        self.by_name = {layer.name: layer for layer in layers}

    @classmethod
    def build(cls, model) -> "ReferenceProbe":
        layers, tensors = [], []
        all_layers = list(getattr(model, "layers", None) or [])
        try:
            keras = importlib.import_module(type(model).__module__.split(".")[0])
            model_inputs = model.inputs
        except Exception:
            return cls(model, None, [], [], None)
        for order, layer in enumerate(all_layers):
            if type(layer).__name__ == "InputLayer":
                continue
            try:
                out = layer.output  # raises for layers called at several places
            except Exception:
                continue
            if isinstance(out, (list, tuple, dict)):
                continue
            layers.append(_Layer(layer.name, type(layer).__name__, order, _parent_names(layer)))
            tensors.append(out)
        probe = None
        if tensors:
            try:
                probe = keras.Model(model_inputs, tensors)
            except Exception:
                layers, probe = [], None
        output_layers = _output_layer_names(model)
        names = getattr(model, "input_names", None)
        return cls(model, probe, layers, output_layers, list(names) if names else None)

    def run(self, case_inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.probe is None:
            return {}
        if len(case_inputs) == 1:
            feed = next(iter(case_inputs.values()))
        elif self.input_names and all(n in case_inputs for n in self.input_names):
            feed = [case_inputs[n] for n in self.input_names]
        else:
            feed = dict(case_inputs)
        values = self.probe(feed, training=False)
        values = values if isinstance(values, (list, tuple)) else [values]
        return {layer.name: np.asarray(v) for layer, v in zip(self.layers, values)}

    def ancestors(self, name: str) -> set[str]:
        seen, stack = set(), [name]
        while stack:
            layer = self.by_name.get(stack.pop())
            for parent in layer.parents if layer else ():
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen


def _parent_names(layer) -> list[str]:
    try:
        node = layer._inbound_nodes[0]
    except Exception:
        return []
    if hasattr(node, "inbound_layers"):  # tf_keras
        parents = node.inbound_layers
        parents = parents if isinstance(parents, (list, tuple)) else [parents]
        return [p.name for p in parents]
    if hasattr(node, "parent_nodes"):  # Keras 3
        return [n.operation.name for n in node.parent_nodes]
    return []


def _output_layer_names(model) -> list[str | None]:
    out = []
    for tensor in getattr(model, "outputs", None) or []:
        history = getattr(tensor, "_keras_history", None)
        layer = getattr(history, "layer", None) or getattr(history, "operation", None)
        out.append(getattr(layer, "name", None))
    return out
