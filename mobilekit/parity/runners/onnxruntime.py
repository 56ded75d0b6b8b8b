"""ONNX Runtime (CPUExecutionProvider) executing `.onnx` artifacts by input/output name."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.core.tensors import ModelIO
from mobilekit.parity.runners.base import Runner, stack_cases


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"
    target = "onnx"
    description = "ONNX Runtime, CPUExecutionProvider (single thread, all graph optimizations)"
    provider = "CPUExecutionProvider"

    def unavailable_reason(self) -> str | None:
        try:
            import onnxruntime
        except ImportError:
            return "onnxruntime is not installed (pip install onnxruntime)"
        if self.provider not in onnxruntime.get_available_providers():
            return f"onnxruntime has no {self.provider}"
        return None

    def run(self, artifact: Path, inputs: dict[str, np.ndarray], io: ModelIO, function: str | None = None) -> dict[str, np.ndarray]:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # deterministic reductions, and polite on shared CI machines
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(artifact), sess_options=options, providers=[self.provider])
        names = [o.name for o in session.get_outputs()]
        count = len(next(iter(inputs.values())))
        per_case = []
        for i in range(count):
            feeds = {name: np.ascontiguousarray(value[i : i + 1], dtype=np.float32) for name, value in inputs.items()}
            per_case.append(dict(zip(names, (np.asarray(v) for v in session.run(names, feeds)))))
        return stack_cases(per_case)


ONNXRUNTIME_CPU = OnnxRuntimeRunner()
