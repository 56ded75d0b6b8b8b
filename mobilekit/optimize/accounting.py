"""Size accounting of a deployable artifact: on-disk bytes, parameter count, stored bits per
weight and sparsity, read back from the file itself (not from what we asked the converter for).

- Core ML (ML program): every float `const` tensor of two or more elements that is not only an
  input of a `constexpr_*` op, and every `constexpr_*` op whose output is not only an input of
  another `constexpr_*` op (the decompressed weight). Stored bytes are the bytes of the constant
  arrays (palettes, packed indices, sparse masks, quantized data, scales) behind each weight.
- TFLite: every tensor backed by a non-empty buffer, except int32/int64 constants that are not
  a conv / fully-connected bias (shapes, axes, paddings). Sparsity counts values equal to the
  tensor's zero point (quantized) or to 0.0 (float).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mobilekit.core.fsio import disk_bytes


def weight_stats(artifact: Path) -> dict[str, Any]:
    """{bytes, params, weight_bytes, bits_per_weight, sparsity} of a `.mlpackage` or `.tflite`."""
    if artifact.name.endswith(".mlpackage"):
        params, stored, zeros = _coreml_weights(artifact)
    elif artifact.name.endswith(".tflite"):
        params, stored, zeros = _tflite_weights(artifact.read_bytes())
    else:
        return {"bytes": disk_bytes(artifact)}
    return {
        "bytes": disk_bytes(artifact),
        "params": params,
        "weight_bytes": stored,
        "bits_per_weight": round(8.0 * stored / params, 3) if params else None,
        "sparsity": round(zeros / params, 4) if params else None,
    }


SUB_BYTE_TYPES = {"uint1": 1, "uint2": 2, "uint3": 3, "uint4": 4, "uint6": 6, "int4": 4}


def _stored_bytes(var) -> int:
    """Bytes a constant takes in the package: iOS18 sub-byte types (uint1 masks, uint4 indices)
    come back from the loader one value per byte but are stored bit-packed."""
    value = var.val
    if not isinstance(value, np.ndarray):
        return 0
    from coremltools.converters.mil.mil import types

    bits = SUB_BYTE_TYPES.get(types.builtin_to_string(var.dtype)) if var.dtype is not None else None
    return -(-value.size * bits // 8) if bits else int(value.nbytes)


def _coreml_weights(path: Path) -> tuple[int, int, int]:
    from mobilekit.parity.mil import MilExecutionError, load_program
    from mobilekit.parity.mil.program import iter_ops

    try:
        function = load_program(path).function()
    except MilExecutionError:  # neural-network format (custom layers): weights live in the spec
        return _neuralnetwork_weights(path)
    params = stored = zeros = 0
    for op in iter_ops(function.operations):
        is_constexpr = op.op_type.startswith("constexpr_")
        if op.op_type != "const" and not is_constexpr:
            continue
        if is_constexpr:
            stored += sum(_stored_bytes(var) for var in op.inputs.values() if var.op is None or var.op.op_type == "const")
        output = op.outputs[0]
        children = [child.op_type for child in output.child_ops]
        if children and all(c.startswith("constexpr_") for c in children):
            continue  # part of a compressed weight; counted with the op that decompresses it
        if is_constexpr:
            dense = np.asarray(op.materialized_val_inference())
            dense = dense[0] if dense.dtype == object else dense
        else:
            dense = output.val
            if not isinstance(dense, np.ndarray) or dense.dtype.kind != "f" or dense.size < 2:
                continue
            stored += dense.nbytes
        params += int(np.prod(output.shape))
        zeros += int(np.count_nonzero(np.asarray(dense) == 0))
    return params, stored, zeros


def _neuralnetwork_weights(path: Path) -> tuple[int, int, int]:
    import coremltools as ct

    spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
    params = stored = zeros = 0
    for layer in spec.neuralNetwork.layers:
        for field in ("weights", "bias"):
            for _, params_msg in _weight_messages(layer, field):
                values = np.asarray(params_msg.floatValue, np.float32)
                params += values.size
                stored += values.nbytes
                zeros += int(np.count_nonzero(values == 0))
    return params, stored, zeros


def _weight_messages(layer, field: str):
    """The WeightParams of `field` in a neural-network layer (repeated in custom layers)."""
    kind = layer.WhichOneof("layer")
    message = getattr(layer, kind) if kind else None
    descriptor = message.DESCRIPTOR.fields_by_name.get(field) if message is not None else None
    if descriptor is None:
        return
    if descriptor.label == descriptor.LABEL_REPEATED:
        for entry in getattr(message, field):
            yield kind, entry
    elif message.HasField(field):
        yield kind, getattr(message, field)


_BIAS_INPUT = {3: 2, 4: 2, 9: 2, 67: 3}  # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV


def _tflite_weights(flatbuffer: bytes) -> tuple[int, int, int]:
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    dtypes = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.FLOAT16: np.float16,
              schema.TensorType.INT8: np.int8, schema.TensorType.UINT8: np.uint8,
              schema.TensorType.INT32: np.int32, schema.TensorType.INT64: np.int64}
    params = stored = zeros = 0
    for graph in model.subgraphs:
        biases = {int(op.inputs[_BIAS_INPUT[model.operatorCodes[op.opcodeIndex].builtinCode]])
                  for op in graph.operators
                  if model.operatorCodes[op.opcodeIndex].builtinCode in _BIAS_INPUT
                  and len(op.inputs) > _BIAS_INPUT[model.operatorCodes[op.opcodeIndex].builtinCode]}
        for index, tensor in enumerate(graph.tensors):
            buffer = model.buffers[tensor.buffer]
            data = buffer.data
            if data is None or len(data) == 0 or tensor.type not in dtypes:
                continue
            values = np.frombuffer(bytes(np.asarray(data, np.uint8)), dtypes[tensor.type])
            if values.dtype.kind == "i" and values.itemsize >= 4 and index not in biases:
                continue  # shapes, axes, paddings
            zero_point = 0
            if tensor.quantization is not None and tensor.quantization.zeroPoint is not None and len(tensor.quantization.zeroPoint) == 1:
                zero_point = int(tensor.quantization.zeroPoint[0])
            params += values.size
            stored += values.nbytes
            zeros += int(np.count_nonzero(values == zero_point))
    return params, stored, zeros
