"""Trace a Keras model into a named-input, named-output `tf.function` (what both converters consume)."""
from __future__ import annotations

from mobilekit.core.tf import tf_and_keras
from mobilekit.models.base import ModelIO


def serving_function(model, io: ModelIO):
    """Concrete function taking the inputs of `io` by name and returning {output name: tensor}."""
    tf, _ = tf_and_keras()
    specs = [tf.TensorSpec(t.shape, tf.float32, name=t.name) for t in io.inputs]
    output_names = [t.name for t in io.outputs]

    @tf.function(input_signature=specs)
    def serve(*tensors):
        result = model(list(tensors) if len(tensors) > 1 else tensors[0], training=False)
        result = result if isinstance(result, (list, tuple)) else [result]
        return dict(zip(output_names, result))

    return serve.get_concrete_function()


def call_serving(fn, inputs) -> dict:
    """Call a serving function with NumPy inputs; return NumPy outputs by name."""
    tf, _ = tf_and_keras()
    return {k: v.numpy() for k, v in fn(**{n: tf.constant(a, tf.float32) for n, a in inputs.items()}).items()}
