"""The numerics class of a converted artifact, read from the file: what its parity tolerance is
declared for (fp32, fp16, w8: 8-bit weights, int8: full-integer compute, lowbit: palettes / sparse)."""
from __future__ import annotations

from pathlib import Path

from mobilekit.convert.base import target_of

LOWBIT_OPS = {"constexpr_lut_to_dense", "constexpr_sparse_to_dense", "constexpr_lut_to_sparse"}
W8_OPS = {"constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"}


def artifact_numerics(artifact: Path) -> str:
    """Compressed Core ML weights (palettes / sparse → lowbit, 8-bit → w8), else the program's
    compute precision; TFLite int8 activations → int8, int8 / fp16 weights → w8 / fp16; else fp32."""
    target = target_of(artifact)
    if target == "coreml":
        from mobilekit.parity.mil import MilExecutionError, load_program

        try:
            program = load_program(artifact)
        except MilExecutionError:
            return "fp32"  # neural-network format (custom layers) runs fp32
        ops = set(program.op_types())
        if ops & LOWBIT_OPS:
            return "lowbit"
        if ops & W8_OPS:
            return "w8"
        return program.compute_precision
    if target == "tflite":
        return _tflite_numerics(artifact)
    return "fp32"


def _tflite_numerics(artifact: Path) -> str:
    """Full integer models quantize their activations (a QUANTIZE op, or int8 inputs); dynamic-range
    models keep float activations over int8 weights; fp16 models store float16 weights."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(artifact.read_bytes(), 0))
    codes = {code.builtinCode for code in model.operatorCodes}
    graph = model.subgraphs[0]
    tensor_types = {tensor.type for tensor in graph.tensors}
    inputs_int8 = any(graph.tensors[i].type == schema.TensorType.INT8 for i in graph.inputs)
    if schema.BuiltinOperator.QUANTIZE in codes or inputs_int8:
        return "int8"
    if schema.TensorType.INT8 in tensor_types:
        return "w8"
    return "fp16" if schema.TensorType.FLOAT16 in tensor_types else "fp32"
