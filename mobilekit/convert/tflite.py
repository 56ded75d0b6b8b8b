"""TFLite target: a `.tflite` converted through a named serving signature, with metadata."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from mobilekit.convert.base import Artifact, ConvertRequest
from mobilekit.convert.metadata import populate_tflite_metadata
from mobilekit.core.fsio import write_bytes_atomic
from mobilekit.core.tf import tf_and_keras

SIGNATURE = "serving_default"


class SignaturesUnsupported(Exception):
    """The modules cannot be packaged as signatures of one file (the caller makes one file each)."""


class TFLiteTarget:
    name = "tflite"
    suffix = ".tflite"
    numerics = ("fp32", "fp16", "w8", "int8")

    def convert(self, model, request: ConvertRequest, out_path: Path) -> Artifact:
        from mobilekit.convert.coverage import analyze_target, parse_tflite_op_errors, quiet_stderr

        tf, _ = tf_and_keras()
        with tempfile.TemporaryDirectory() as tmp:
            def to_flatbuffer(function, ops_sets: list[str]) -> bytes:
                if not any(Path(tmp).iterdir()):  # one SavedModel serves every attempt (same function)
                    save_signature(tf, model, function, tmp)
                converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE])
                converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, name) for name in ops_sets]
                configure_quantization(tf, converter, request)
                return converter.convert()

            builtins: dict[str, bytes] = {}

            def builtins_only(function) -> dict[str, str]:
                """Coverage's probe is the real builtins-only conversion: its errors list the ops."""
                try:
                    with quiet_stderr():
                        builtins["flatbuffer"] = to_flatbuffer(function, ["TFLITE_BUILTINS"])
                    return {}
                except Exception as exc:
                    found = parse_tflite_op_errors(str(exc))
                    if not found:
                        raise
                    return found

            # Lower (exact decompositions) and check every op before anything is written.
            coverage = analyze_target(model, request.io, self.name, probe=builtins_only)
            coverage.require_supported()
            ops_sets = ["TFLITE_BUILTINS", "SELECT_TF_OPS"] if coverage.select_tf_ops else ["TFLITE_BUILTINS"]
            flatbuffer = builtins.get("flatbuffer") or to_flatbuffer(coverage.function, ops_sets)
        input_order, output_order = tensor_order(flatbuffer)
        write_bytes_atomic(out_path, populate_tflite_metadata(flatbuffer, request, input_order, output_order))
        details = {"signature": SIGNATURE, "ops": ops_sets, "delegates_tested": ["xnnpack"],
                   "input_order": input_order, "output_order": output_order,
                   "quantization": request.options.quantization}
        if coverage.routes():
            details["op_routes"] = coverage.routes()  # per op: decomposition rule or SELECT_TF_OPS
        return Artifact(self.name, out_path, numerics(request.options), details)


    def convert_modules(self, modules: list[tuple[str, object, ConvertRequest]], out_path: Path) -> Artifact:
        """Several modules as signatures of one `.tflite` (the end-to-end `main` as `serving_default`,
        the others under their names): the converter stores constants shared between signatures
        once. Float conversions only (full-integer calibration is per signature). Metadata
        describes the `serving_default` subgraph."""
        from mobilekit.convert.coverage import analyze_target

        tf, _ = tf_and_keras()
        names = sorted((name for name, _, _ in modules), key=lambda n: (n != "main", n))
        by_name = {name: (model, request) for name, model, request in modules}
        main_request = by_name["main"][1]
        if main_request.options.quantization != "none":
            raise SignaturesUnsupported("full-integer calibration is per signature; float conversions only")
        functions, ops_sets, routes = {}, ["TFLITE_BUILTINS"], []
        for name in names:
            model, request = by_name[name]
            coverage = analyze_target(model, request.io, self.name)
            coverage.require_supported()
            functions[SIGNATURE if name == "main" else name] = coverage.function
            if coverage.select_tf_ops:
                ops_sets = ["TFLITE_BUILTINS", "SELECT_TF_OPS"]
            routes += coverage.routes()
        with tempfile.TemporaryDirectory() as tmp:
            module = tf.Module()
            seen: dict[int, object] = {}
            for name in names:
                for variable in by_name[name][0].variables:
                    seen.setdefault(id(variable), variable)
            module.variables_of_models = list(seen.values())
            tf.saved_model.save(module, tmp, signatures=functions)
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=list(functions))
            converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, name) for name in ops_sets]
            configure_quantization(tf, converter, main_request)
            flatbuffer = signature_subgraph_first(converter.convert(), SIGNATURE)
        input_order, output_order = tensor_order(flatbuffer)
        write_bytes_atomic(out_path, populate_tflite_metadata(flatbuffer, main_request, input_order, output_order))
        details = {"signature": SIGNATURE, "functions": sorted(names),
                   "signatures": {name: SIGNATURE if name == "main" else name for name in names},
                   "packaging": "one .tflite, a signature per module; constants shared between signatures stored once",
                   "ops": ops_sets, "delegates_tested": ["xnnpack"], "input_order": input_order, "output_order": output_order,
                   "quantization": main_request.options.quantization}
        if routes:
            details["op_routes"] = routes
        return Artifact(self.name, out_path, numerics(main_request.options), details)


def signature_subgraph_first(flatbuffer: bytes, signature: str) -> bytes:
    """Reorder the subgraphs so `signature`'s is subgraph 0: the one the metadata writers describe
    and the default interpreter API runs. Raises SignaturesUnsupported for models whose ops refer to
    subgraphs (control flow)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    index = next(s.subgraphIndex for s in model.signatureDefs if s.signatureKey.decode() == signature)
    if index == 0:
        return flatbuffer
    control_flow = {schema.BuiltinOperator.WHILE, schema.BuiltinOperator.IF, schema.BuiltinOperator.CALL_ONCE}
    codes = [code.builtinCode for code in model.operatorCodes]
    if any(codes[op.opcodeIndex] in control_flow for graph in model.subgraphs for op in graph.operators or []):
        raise SignaturesUnsupported("control-flow ops refer to subgraphs by index; the subgraphs cannot be reordered")
    order = [index] + [i for i in range(len(model.subgraphs)) if i != index]
    model.subgraphs = [model.subgraphs[i] for i in order]
    position = {old: new for new, old in enumerate(order)}
    for definition in model.signatureDefs:
        definition.subgraphIndex = position[definition.subgraphIndex]
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def save_signature(tf, model, function, directory: str) -> None:
    """A SavedModel holding only `function` and the variables it captures. Tracking the variables
    rather than the Keras model skips tracing every layer's call for the SavedModel (a 4x faster
    conversion); a restored SavedModel whose functions capture variables it does not list falls
    back to tracking the whole object."""
    module = tf.Module()
    module.variables_of_model = list(model.variables)
    try:
        tf.saved_model.save(module, directory, signatures={SIGNATURE: function})
    except AssertionError:  # "references an 'untracked' resource"
        for entry in Path(directory).iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        module = tf.Module()
        module.model = model
        tf.saved_model.save(module, directory, signatures={SIGNATURE: function})


# TFLite post-training quantization -> the numerics class its parity tolerance is declared for.
QUANTIZATION_NUMERICS = {"dynamic_int8": "w8", "int8": "int8", "int8_io": "int8"}


def numerics(options) -> str:
    return QUANTIZATION_NUMERICS.get(options.quantization, options.precision)


def configure_quantization(tf, converter, request: ConvertRequest) -> None:
    """fp16 weights, dynamic-range int8, or full integer calibrated on `request.calibration`
    (one sample at a time, as the model runs on device); int8_io also makes inputs/outputs int8."""
    options = request.options
    if options.quantization == "none" and options.precision == "fp32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if options.quantization == "none":  # fp16
        converter.target_spec.supported_types = [tf.float16]
        return
    if options.quantization == "dynamic_int8":
        return
    if not request.calibration:
        from mobilekit.core.errors import InputError

        raise InputError(f"TFLite quantization {options.quantization!r} needs representative inputs (calibration data)")
    calibration = request.calibration
    count = len(next(iter(calibration.values())))

    def representative():
        for i in range(count):
            yield {name: np.asarray(batch[i : i + 1], np.float32) for name, batch in calibration.items()}

    converter.representative_dataset = representative
    # strict: an op without an int8 kernel fails the conversion instead of silently staying float
    select = [o for o in converter.target_spec.supported_ops if o == tf.lite.OpsSet.SELECT_TF_OPS]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, *select]
    if options.quantization == "int8_io":
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8


def tensor_order(flatbuffer: bytes) -> tuple[list[str], list[str]]:
    """Signature names of the model's input and output tensors, in tensor order."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    signature = interpreter.get_signature_list()[SIGNATURE]  # subgraph 0 (asserted below)
    runner = interpreter.get_signature_runner(SIGNATURE)
    in_index = {d["index"]: n for n, d in runner.get_input_details().items()}
    out_index = {d["index"]: n for n, d in runner.get_output_details().items()}
    inputs = [in_index[d["index"]] for d in interpreter.get_input_details()]
    outputs = [out_index[d["index"]] for d in interpreter.get_output_details()]
    assert sorted(inputs) == sorted(signature["inputs"]) and sorted(outputs) == sorted(signature["outputs"])
    return inputs, outputs


TFLITE = TFLiteTarget()
