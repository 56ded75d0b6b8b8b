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
        count = len(next(iter(inputs.values())))
        per_case = []
        for i in range(count):
            outputs = runner(**{name: np.ascontiguousarray(value[i : i + 1], dtype=np.float32) for name, value in inputs.items()})
            per_case.append({name: np.array(value) for name, value in outputs.items()})
        return stack_cases(per_case)


LITERT_XNNPACK = LiteRTRunner("litert", xnnpack=True)
LITERT_BUILTIN = LiteRTRunner("litert-builtin", xnnpack=False)
