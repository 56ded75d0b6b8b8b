"""I/O contract of a model we did not build (bring-your-own model): taken from the model itself.

Keras models (tf_keras or Keras 3) describe their inputs/outputs; a SavedModel has no Keras config,
so its serving signature is the contract (`SavedModelSignature` makes it callable like a model)."""
from __future__ import annotations

import functools
import re

from mobilekit.core.errors import InputError
from mobilekit.core.tensors import ModelIO, TensorInfo

SERVING_SIGNATURE = "serving_default"


def _tensor_name(name: str) -> str:
    """A name usable as a TF placeholder / Core ML feature / ONNX input ("input_1:0" -> "input_1")."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", name.split(":")[0]).lstrip("_.-")
    return cleaned or "input"


def portable_name(name: str) -> str:
    """A name every target accepts (Core ML features must match [A-Za-z_][A-Za-z0-9_]*): other
    characters become '_', a leading digit gets a '_' prefix ("1head_dense" -> "_1head_dense")."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name) or "tensor"
    return f"_{cleaned}" if cleaned[0].isdigit() else cleaned


def _fixed(name: str, shape, what: str) -> tuple[int, ...]:
    dims = tuple(shape)[1:]
    if any(d is None for d in dims):
        raise InputError(f"{what} {name!r} has a dynamic shape {tuple(shape)}; mobile targets need fixed shapes")
    return (1, *(int(d) for d in dims))


def _nested(model, attr: str):
    try:
        return getattr(model, attr)
    except (AttributeError, ValueError):  # Keras raises ValueError for a model that was never called
        return None


def keras_input_names(model) -> list[str]:
    """Input names in the order `model.inputs` lists them (dict keys for dict-input models)."""
    nested = _nested(model, "input")
    if isinstance(nested, dict):
        by_id = {id(t): k for k, t in nested.items()}
        return [by_id[id(t)] for t in model.inputs]
    names = getattr(model, "input_names", None)  # tf_keras; Keras 3 names inputs after their Input layers
    return list(names) if names else [_producer_name(t) for t in model.inputs]


def keras_output_names(model) -> list[str]:
    nested = _nested(model, "output")
    if isinstance(nested, dict):
        by_id = {id(t): k for k, t in nested.items()}
        return [by_id[id(t)] for t in model.outputs]
    names = getattr(model, "output_names", None)  # Keras 3 Sequential has none
    return list(names) if names else [_producer_name(t) for t in model.outputs]


def _producer_name(tensor) -> str:
    """The name of the layer that produced a symbolic tensor (Keras 3: `operation`, tf_keras: `layer`)."""
    history = getattr(tensor, "_keras_history", None)
    producer = getattr(history, "operation", None) or getattr(history, "layer", None)
    if producer is None:
        return _tensor_name(tensor.name)
    index = getattr(history, "tensor_index", 0)
    return _tensor_name(producer.name if not index else f"{producer.name}_{index}")


def io_from_keras(model) -> ModelIO:
    """Float tensor inputs/outputs with batch 1, named after the model's input layers and outputs
    (tf_keras and Keras 3 functional / sequential models)."""
    if not getattr(model, "inputs", None) or not getattr(model, "outputs", None):
        raise InputError("the model has no defined inputs/outputs (a subclassed model that was never built?); "
                         "save a functional or sequential model, or export a SavedModel with a serving signature")
    # Positional inputs/outputs (not dict-keyed) are only labels: make them portable to every target.
    in_names, out_names = keras_input_names(model), keras_output_names(model)
    if not isinstance(_nested(model, "input"), dict):
        in_names = [portable_name(n) for n in in_names]
    if not isinstance(_nested(model, "output"), dict):
        out_names = [portable_name(n) for n in out_names]
    inputs = tuple(TensorInfo(name, _fixed(name, t.shape, "input"), f"input {name}") for t, name in zip(model.inputs, in_names))
    outputs = tuple(TensorInfo(name, _fixed(name, t.shape, "output"), f"output {name}") for t, name in zip(model.outputs, out_names))
    if len({t.name for t in (*inputs, *outputs)}) != len(inputs) + len(outputs):
        raise InputError(f"input/output names are not unique: {[t.name for t in (*inputs, *outputs)]}")
    return ModelIO(inputs, outputs)


def io_from_signature(model: "SavedModelSignature") -> ModelIO:
    """The I/O contract of a SavedModel serving signature: its input/output keys, batch fixed to 1."""
    fn = model.signature
    specs = fn.structured_input_signature[1]
    inputs = []
    for name in sorted(specs):
        spec = specs[name]
        if not spec.dtype.is_floating:
            raise InputError(f"signature input {name!r} is {spec.dtype.name}; only floating-point inputs are supported")
        if spec.shape.rank is None:
            raise InputError(f"signature input {name!r} has an unknown rank; mobile targets need fixed shapes")
        inputs.append(TensorInfo(name, _fixed(name, spec.shape.as_list(), "input"), f"input {name}"))
    outs = fn.structured_outputs
    if not isinstance(outs, dict):
        raise InputError("the serving signature does not return named outputs")
    outputs = []
    for name in sorted(outs):
        shape = outs[name].shape
        if shape.rank is None:
            raise InputError(f"signature output {name!r} has an unknown rank")
        outputs.append(TensorInfo(name, _fixed(name, shape.as_list(), "output"), f"output {name}"))
    return ModelIO(tuple(inputs), tuple(outputs))


def model_io(model) -> ModelIO:
    """The I/O contract of any reference model `load_keras_model` returns."""
    return io_from_signature(model) if is_signature_model(model) else io_from_keras(model)


def is_signature_model(model) -> bool:
    return getattr(model, "is_savedmodel_signature", False) is True


@functools.cache
def _signature_class():
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()

    class SavedModelSignature(tf.Module):
        """A loaded SavedModel used through one signature, callable like a Keras model:
        `model(tensor or [tensors in io input order], training=False)` -> {output name: tensor}.

        A tf.Module holding the loaded object, so its variables stay tracked when the TFLite target
        re-saves the serving function."""

        is_savedmodel_signature = True

        def __init__(self, loaded, key: str) -> None:
            super().__init__(name="savedmodel")
            self.loaded = loaded
            self.key = key
            self.signature = loaded.signatures[key]
            self._specs = self.signature.structured_input_signature[1]

        def __call__(self, inputs, training=False):  # noqa: ARG002 (a SavedModel is inference-only)
            tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
            if isinstance(inputs, dict):
                feeds = dict(inputs)
            else:
                feeds = dict(zip(sorted(self._specs), tensors))
            return self.signature(**{k: tf.cast(v, self._specs[k].dtype) for k, v in feeds.items()})

    return SavedModelSignature


def is_keras3_model(model) -> bool:
    """A model of the Keras 3 package (not tf_keras, whose classes live in `tf_keras.*`)."""
    return type(model).__module__.split(".")[0] == "keras" and hasattr(model, "variables")


@functools.cache
def _keras3_class():
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()

    def tf_variable(variable):
        for candidate in (getattr(variable, "_value", None), variable):
            if isinstance(candidate, tf.Variable):
                return candidate
        raise TypeError(f"cannot find the TensorFlow variable of {variable!r}")

    class Keras3ForConversion(tf.Module):
        """A Keras 3 model as converters see it: callable like the model, tracking only its
        `tf.Variable`s. The TFLite converter does not freeze the variables of a Keras 3 model that
        the SavedModel it re-saves tracks directly: they come out as uninitialized resource
        variables (NaN outputs). Tracked as plain `tf.Variable`s they freeze to constants."""

        def __init__(self, model) -> None:
            super().__init__(name="keras3_model")
            object.__setattr__(self, "keras_model", model)  # deliberately not tracked
            self.tf_variables = [tf_variable(v) for v in model.variables]

        def __call__(self, inputs, training=False):
            return self.keras_model(inputs, training=training)

    return Keras3ForConversion


def for_conversion(model):
    """The object converters trace and save: Keras 3 models wrapped (see `_keras3_class`), others as they are."""
    return _keras3_class()(model) if is_keras3_model(model) else model


def savedmodel_signature(loaded, path) -> "SavedModelSignature":
    """Wrap a `tf.saved_model.load` result: the `serving_default` signature, else its only one."""
    keys = sorted(getattr(loaded, "signatures", {}) or {})
    if not keys:
        raise InputError(f"{path}: the SavedModel has no signatures; export it with a serving signature "
                         "(keras.Model.export() or tf.saved_model.save(..., signatures=...))")
    if SERVING_SIGNATURE in keys:
        key = SERVING_SIGNATURE
    elif len(keys) == 1:
        key = keys[0]
    else:
        raise InputError(f"{path}: no {SERVING_SIGNATURE!r} signature and several others ({', '.join(keys)}); "
                         f"re-export with the one to convert named {SERVING_SIGNATURE!r}")
    return _signature_class()(loaded, key)
