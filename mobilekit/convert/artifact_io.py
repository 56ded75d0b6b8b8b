"""How each converted artifact really takes its inputs and gives its outputs, read back from the file.

The manifest's top-level `inputs`/`outputs` are the TensorFlow reference's contract (float32,
normalized). An artifact can differ: a Core ML image input takes 8-bit pixels (0–255, its color
layout) and applies scale and bias itself; a TFLite model takes the float tensor already
normalized; a full-integer TFLite model takes int8 with its quantization. `artifact_io` reads the
truth from the artifact itself (Core ML spec, TFLite signature, ONNX graph) and adds what the
reference contract knows (normalization), so the manifest describes what an app must feed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mobilekit.core.tensors import ModelIO

_COLOR_SPACES = {10: "GRAYSCALE", 20: "RGB", 30: "BGR"}
_COREML_ARRAY_TYPES = {65568: "float32", 65552: "float16", 65600: "float64", 131104: "int32", 131080: "int8"}


def _pixel_rule(normalization: dict[str, Any]) -> dict[str, Any]:
    scale, bias = float(normalization.get("scale", 1.0)), float(normalization.get("bias", 0.0))
    return {"scale": scale, "bias": bias, "model_computes": "value = pixel × scale + bias"}


# --------------------------------------------------------------------------- Core ML


def _coreml_feature(feature, reference: dict[str, Any]) -> dict[str, Any]:
    kind = feature.type.WhichOneof("Type")
    entry: dict[str, Any] = {"name": feature.name}
    if kind == "imageType":
        image = feature.type.imageType
        entry.update({"as": "image", "pixels": "8-bit per channel", "pixel_range": [0, 255],
                      "color_layout": _COLOR_SPACES.get(image.colorSpace, str(image.colorSpace)),
                      "width": int(image.width), "height": int(image.height)})
        if reference.get("kind") == "image":
            entry.update(_pixel_rule(reference.get("normalization", {})))
    elif kind == "multiArrayType":
        array = feature.type.multiArrayType
        entry.update({"as": "multiarray", "dtype": _COREML_ARRAY_TYPES.get(array.dataType, str(array.dataType)),
                      "shape": [int(d) for d in array.shape]})
    else:
        entry["as"] = kind
    return entry


def _coreml_io(path: Path, io: ModelIO) -> dict[str, Any]:
    from mobilekit.core.native import import_coremltools

    import_coremltools()
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.ParseFromString((path / "Data" / "com.apple.CoreML" / "model.mlmodel").read_bytes())
    refs = {t.name: t.to_manifest() for t in (*io.inputs, *io.outputs)}

    def describe(description) -> dict[str, Any]:
        return {"inputs": [_coreml_feature(f, refs.get(f.name, {})) for f in description.input],
                "outputs": [_coreml_feature(f, refs.get(f.name, {})) for f in description.output]}

    if spec.description.functions:
        functions = {f.name: describe(f) for f in spec.description.functions}
        default = spec.description.defaultFunctionName or next(iter(functions))
        return {**functions[default], "default_function": default, "functions": functions}
    return describe(spec.description)


# --------------------------------------------------------------------------- TFLite


def _tflite_tensor(detail: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    entry: dict[str, Any] = {"name": detail["name"], "as": "tensor", "dtype": np.dtype(detail["dtype"]).name,
                             "shape": [int(d) for d in detail["shape"]]}
    scales = list(detail.get("quantization_parameters", {}).get("scales", []))
    if len(scales):
        zero = list(detail["quantization_parameters"].get("zero_points", []))
        entry["quantization"] = {"scale": [float(s) for s in scales], "zero_point": [int(z) for z in zero],
                                 "real_value": "(q - zero_point) × scale"}
    if reference.get("kind") == "image":
        rule = _pixel_rule(reference.get("normalization", {}))
        entry["expects"] = f"normalized values, pixel × {rule['scale']:.8g} + {rule['bias']:.8g} (the app normalizes)"
        entry.update(scale=rule["scale"], bias=rule["bias"])
    return entry


def _tflite_io(path: Path, io: ModelIO) -> dict[str, Any]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    refs = {t.name: t.to_manifest() for t in (*io.inputs, *io.outputs)}
    signatures = {}
    for name in sorted(interpreter.get_signature_list()):
        runner = interpreter.get_signature_runner(name)
        signatures[name] = {
            "inputs": [_tflite_tensor({**d, "name": k}, refs.get(k, {})) for k, d in sorted(runner.get_input_details().items())],
            "outputs": [_tflite_tensor({**d, "name": k}, refs.get(k, {})) for k, d in sorted(runner.get_output_details().items())],
        }
    main = signatures.get("serving_default") or next(iter(signatures.values()))
    return {**main, "signatures": signatures} if len(signatures) > 1 else main


# --------------------------------------------------------------------------- ONNX


def _onnx_io(path: Path, io: ModelIO) -> dict[str, Any]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    refs = {t.name: t.to_manifest() for t in (*io.inputs, *io.outputs)}

    def value(info) -> dict[str, Any]:
        tensor = info.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in tensor.shape.dim]
        entry = {"name": info.name, "as": "tensor", "dtype": onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name, "shape": dims}
        if refs.get(info.name, {}).get("kind") == "image":
            rule = _pixel_rule(refs[info.name].get("normalization", {}))
            entry["expects"] = f"normalized values, pixel × {rule['scale']:.8g} + {rule['bias']:.8g} (the app normalizes)"
        return entry

    return {"inputs": [value(i) for i in model.graph.input], "outputs": [value(o) for o in model.graph.output]}


READERS = {"coreml": _coreml_io, "tflite": _tflite_io, "onnx": _onnx_io}


def artifact_io(target: str, path: Path, io: ModelIO) -> dict[str, Any] | None:
    """The artifact's own inputs/outputs (None for a target without a reader)."""
    reader = READERS.get(target)
    return reader(path, io) if reader else None
