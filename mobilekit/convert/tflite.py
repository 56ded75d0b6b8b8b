"""TFLite target: a `.tflite` converted through a named serving signature, with metadata."""
from __future__ import annotations

import tempfile
from pathlib import Path

from mobilekit.convert.base import Artifact, ConvertRequest
from mobilekit.convert.metadata import populate_tflite_metadata
from mobilekit.convert.tracing import serving_function
from mobilekit.core.fsio import write_bytes_atomic
from mobilekit.core.tf import tf_and_keras

SIGNATURE = "serving_default"


class TFLiteTarget:
    name = "tflite"
    suffix = ".tflite"

    def convert(self, model, request: ConvertRequest, out_path: Path) -> Artifact:
        tf, _ = tf_and_keras()
        function = serving_function(model, request.io)
        with tempfile.TemporaryDirectory() as tmp:
            module = tf.Module()
            module.model = model
            tf.saved_model.save(module, tmp, signatures={SIGNATURE: function})
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            if request.options.precision == "fp16":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.target_spec.supported_types = [tf.float16]
            flatbuffer = converter.convert()
        input_order, output_order = tensor_order(flatbuffer)
        write_bytes_atomic(out_path, populate_tflite_metadata(flatbuffer, request, input_order, output_order))
        return Artifact(self.name, out_path, request.options.precision, {
            "signature": SIGNATURE, "ops": ["TFLITE_BUILTINS"], "delegates_tested": ["xnnpack"],
            "input_order": input_order, "output_order": output_order})


def tensor_order(flatbuffer: bytes) -> tuple[list[str], list[str]]:
    """Signature names of the model's input and output tensors, in tensor order."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    signature = interpreter.get_signature_list()[SIGNATURE]
    runner = interpreter.get_signature_runner(SIGNATURE)
    in_index = {d["index"]: n for n, d in runner.get_input_details().items()}
    out_index = {d["index"]: n for n, d in runner.get_output_details().items()}
    inputs = [in_index[d["index"]] for d in interpreter.get_input_details()]
    outputs = [out_index[d["index"]] for d in interpreter.get_output_details()]
    assert sorted(inputs) == sorted(signature["inputs"]) and sorted(outputs) == sorted(signature["outputs"])
    return inputs, outputs


TFLITE = TFLiteTarget()
