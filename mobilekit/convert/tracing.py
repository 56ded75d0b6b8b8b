"""Trace a reference model into a named-input, named-output `tf.function` (what every converter consumes).

The model is a tf_keras or Keras 3 model, or a SavedModel signature wrapped by
`mobilekit.nn.keras_io.savedmodel_signature`; all are called as `model(inputs, training=False)`."""
from __future__ import annotations

from mobilekit.core.tf import tf_and_keras
from mobilekit.core.tensors import ModelIO


def serving_function(model, io: ModelIO):
    """Concrete function taking the inputs of `io` by name and returning {output name: tensor}."""
    tf, _ = tf_and_keras()
    specs = [tf.TensorSpec(t.shape, tf.float32, name=t.name) for t in io.inputs]
    output_names = [t.name for t in io.outputs]

    input_names = [t.name for t in io.inputs]
    by_name = _takes_dict(model)

    @tf.function(input_signature=specs)
    def serve(*tensors):
        args = dict(zip(input_names, tensors)) if by_name else (list(tensors) if len(tensors) > 1 else tensors[0])
        result = model(args, training=False)
        if isinstance(result, dict):  # dict-output Keras models and SavedModel signatures: keyed by output name
            missing = sorted(set(output_names) - set(result))
            if missing:
                raise ValueError(f"the model returned {sorted(result)}, expected outputs {output_names}")
            return {name: result[name] for name in output_names}
        result = result if isinstance(result, (list, tuple)) else [result]
        return dict(zip(output_names, result))

    return serve.get_concrete_function()


def _takes_dict(model) -> bool:
    """SavedModel signatures and dict-input Keras models take {input name: tensor}."""
    from mobilekit.nn.keras_io import is_signature_model

    if is_signature_model(model):
        return True
    try:
        return isinstance(getattr(model, "keras_model", model).input, dict)  # keras_model: generic.for_conversion
    except (AttributeError, ValueError):  # never-called subclassed models have no `input`
        return False


def call_serving(fn, inputs) -> dict:
    """Call a serving function with NumPy inputs; return NumPy outputs by name."""
    tf, _ = tf_and_keras()
    return {k: v.numpy() for k, v in fn(**{n: tf.constant(a, tf.float32) for n, a in inputs.items()}).items()}
