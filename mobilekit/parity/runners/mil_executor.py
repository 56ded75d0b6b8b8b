"""Core ML parity on any OS: the saved program executed op by op by the NumPy MIL executor.

It checks that the converted program computes what TensorFlow computes (fp16 rounding per op
output emulated); it is not a model of GPU / Neural Engine numerics."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.models.base import ModelIO
from mobilekit.parity.runners.base import Runner, pixel_inputs, stack_cases


class MilExecutorRunner(Runner):
    name = "mil-executor"
    target = "coreml"
    description = "NumPy MIL executor over the saved ML program (Linux and macOS)"

    def run(self, artifact: Path, inputs: dict[str, np.ndarray], io: ModelIO) -> dict[str, np.ndarray]:
        from mobilekit.parity.mil import load_program, run_program

        program = load_program(artifact)
        feeds = pixel_inputs(inputs, io)
        count = len(next(iter(feeds.values())))
        per_case = [{k: np.asarray(v, np.float32) for k, v in run_program(program, {n: a[i : i + 1] for n, a in feeds.items()}).outputs.items()}
                    for i in range(count)]
        return stack_cases(per_case)


MIL_EXECUTOR = MilExecutorRunner()
