"""Cut a trained functional tf_keras model into separately runnable modules that share its layers
(and so its weights): a head rebuilt on fresh inputs in place of the features it consumes."""
from __future__ import annotations

from typing import Sequence

from mobilekit.core.tf import tf_and_keras

tf, keras = tf_and_keras()


def _node_args(tensor) -> list:
    layer, node_index, _ = tensor._keras_history
    node = layer._inbound_nodes[node_index]
    args = node.input_tensors if isinstance(node.input_tensors, list) else [node.input_tensors]
    return [a for a in args if hasattr(a, "_keras_history")]


def depends_on(tensor, source) -> bool:
    """Whether `tensor` is computed from `source` in the model's graph."""
    seen, stack = set(), [tensor]
    while stack:
        t = stack.pop()
        if t is source:
            return True
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.extend(_node_args(t))
    return False


def head_model(model, boundary: Sequence[str], outputs: Sequence[str], name: str):
    """The part of `model` that computes the layers `outputs` from the outputs of the layers
    `boundary` (and from any of the model's own inputs it also reads), as a model whose inputs are
    named like those layers, in this order: the boundary layers it uses, then the model inputs."""
    fresh = {b: keras.Input(tuple(model.get_layer(b).output.shape[1:]), name=b) for b in boundary}
    cache: dict[int, object] = {id(model.get_layer(b).output): fresh[b] for b in boundary}
    model_inputs: dict[str, object] = {}

    def value(tensor):
        key = id(tensor)
        if key not in cache:
            layer = tensor._keras_history[0]
            if isinstance(layer, keras.layers.InputLayer):
                model_inputs[layer.name] = cache[key] = keras.Input(tuple(tensor.shape[1:]), name=layer.name)
            else:
                args = [value(t) for t in _node_args(tensor)]
                cache[key] = layer(args if len(args) > 1 else args[0])
        return cache[key]

    results = {o: value(model.get_layer(o).output) for o in outputs}
    used = [b for b in boundary if any(depends_on(model.get_layer(o).output, model.get_layer(b).output) for o in outputs)]
    ordered = [b for b in keras_inputs_order(model) if b in model_inputs]
    return keras.Model({**{b: fresh[b] for b in used}, **{i: model_inputs[i] for i in ordered}}, results, name=name)


def keras_inputs_order(model) -> list[str]:
    return [t._keras_history[0].name for t in model.inputs]
