"""LiteRT (`ai-edge-litert`, the Android runtime) executing `.tflite` through its signature."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.models.base import ModelIO
from mobilekit.parity.runners.base import Runner, stack_cases

SIGNATURE = "serving_default"


class LiteRTRunner(Runner):
    target = "tflite"

    def __init__(self, name: str, xnnpack: bool) -> None:
        self.name = name
        self.xnnpack = xnnpack
        self.description = f"LiteRT interpreter ({'XNNPACK delegate' if xnnpack else 'builtin reference kernels, no delegate'})"

    def run(self, artifact: Path, inputs: dict[str, np.ndarray], io: ModelIO) -> dict[str, np.ndarray]:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.AUTO if self.xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        interpreter = Interpreter(model_path=str(artifact), num_threads=1, experimental_op_resolver_type=resolver)
        runner = interpreter.get_signature_runner(SIGNATURE)
        in_details, out_details = runner.get_input_details(), runner.get_output_details()
        count = len(next(iter(inputs.values())))
        per_case = []
        for i in range(count):
            outputs = runner(**{name: to_input(value[i : i + 1], in_details[name]) for name, value in inputs.items()})
            per_case.append({name: from_output(value, out_details[name]) for name, value in outputs.items()})
        return stack_cases(per_case)


def to_input(value: np.ndarray, detail: dict) -> np.ndarray:
    """Float inputs as they are; integer (int8_io) inputs quantized with the tensor's scale/zero point."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return np.ascontiguousarray(value, dtype=dtype)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(np.asarray(value, np.float64) / scale) + zero_point, info.min, info.max).astype(dtype)


def from_output(value: np.ndarray, detail: dict) -> np.ndarray:
    """Float outputs as they are; integer outputs dequantized to float32."""
    value = np.array(value)
    if value.dtype.kind == "f":
        return value.astype(np.float32, copy=False)
    scale, zero_point = detail["quantization"]
    return ((value.astype(np.float32) - zero_point) * scale).astype(np.float32)


LITERT_XNNPACK = LiteRTRunner("litert", xnnpack=True)
LITERT_BUILTIN = LiteRTRunner("litert-builtin", xnnpack=False)
