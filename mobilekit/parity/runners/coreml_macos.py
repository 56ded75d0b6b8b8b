"""Real Core ML prediction: macOS only (coremltools cannot predict on Linux)."""
from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from mobilekit.core.tensors import ModelIO
from mobilekit.parity.runners.base import Runner, pixel_inputs, stack_cases


class CoreMLMacOSRunner(Runner):
    target = "coreml"

    def __init__(self, name: str, compute_units: str) -> None:
        self.name = name
        self.compute_units = compute_units
        self.description = f"Core ML framework prediction via coremltools (macOS, compute units {compute_units})"

    def unavailable_reason(self) -> str | None:
        if platform.system() != "Darwin":
            return f"Core ML prediction needs macOS (this is {platform.system()})"
        return None

    def run(self, artifact: Path, inputs: dict[str, np.ndarray], io: ModelIO, function: str | None = None) -> dict[str, np.ndarray]:
        import coremltools as ct
        from PIL import Image

        model = ct.models.MLModel(str(artifact), compute_units=getattr(ct.ComputeUnit, self.compute_units),
                                  **({"function_name": function} if function else {}))
        feeds = pixel_inputs(inputs, io)
        kinds = {t.name: t.kind for t in io.inputs}
        per_case = []
        for i in range(len(next(iter(feeds.values())))):
            case = {name: Image.fromarray(value[i].astype(np.uint8)) if kinds[name] == "image" else value[i : i + 1]
                    for name, value in feeds.items()}
            per_case.append({k: np.asarray(v, dtype=np.float32) for k, v in model.predict(case).items()})
        return stack_cases(per_case)


# One runner per compute-unit setting; the gate uses CPU_ONLY (deterministic, fp32-capable),
# QA runs the others with `--runner` to see what GPU / Neural Engine numerics do.
COREML_MACOS = CoreMLMacOSRunner("coreml-macos", "CPU_ONLY")
COREML_MACOS_ALL = CoreMLMacOSRunner("coreml-macos-all", "ALL")
COREML_MACOS_GPU = CoreMLMacOSRunner("coreml-macos-gpu", "CPU_AND_GPU")
COREML_MACOS_NE = CoreMLMacOSRunner("coreml-macos-ne", "CPU_AND_NE")
