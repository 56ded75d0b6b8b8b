"""Runners execute a converted artifact on named inputs. One registry; each runner says whether
it can run on this machine and why not."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from mobilekit.core.registry import Registry
from mobilekit.core.tensors import ModelIO


class Runner(ABC):
    name: str
    target: str
    description: str
    # None when the runner executes the artifact itself in its real runtime; else what it does
    # instead (a gate it passes is an emulation: the manifest lists it, parity_complete is false)
    emulates: str | None = None

    def unavailable_reason(self) -> str | None:
        """None when the runner can run here, else a plain-language reason."""
        return None

    @abstractmethod
    def run(self, artifact: Path, inputs: dict[str, np.ndarray], io: ModelIO, function: str | None = None) -> dict[str, np.ndarray]:
        """Run every case (leading axis of each input) one at a time; stack outputs by name.
        `function`: which function of a multifunction Core ML package (None: its default)."""


def stack_cases(per_case: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([case[name] for case in per_case]) for name in per_case[0]}


def pixel_inputs(inputs: dict[str, np.ndarray], io: ModelIO) -> dict[str, np.ndarray]:
    """Core ML image inputs take raw pixel values: undo the image scale the model applies."""
    out = dict(inputs)
    for info in io.inputs:
        if info.kind == "image":
            out[info.name] = np.rint(inputs[info.name] / float(info.normalization.get("scale", 1.0))).astype(np.float32)
    return out


RUNNERS: Registry[Runner] = Registry("parity runner")
RUNNERS.register_lazy("litert", "mobilekit.parity.runners.litert:LITERT_XNNPACK")
RUNNERS.register_lazy("litert-builtin", "mobilekit.parity.runners.litert:LITERT_BUILTIN")
RUNNERS.register_lazy("coreml-macos", "mobilekit.parity.runners.coreml_macos:COREML_MACOS")
RUNNERS.register_lazy("coreml-macos-all", "mobilekit.parity.runners.coreml_macos:COREML_MACOS_ALL")
RUNNERS.register_lazy("coreml-macos-gpu", "mobilekit.parity.runners.coreml_macos:COREML_MACOS_GPU")
RUNNERS.register_lazy("coreml-macos-ne", "mobilekit.parity.runners.coreml_macos:COREML_MACOS_NE")
RUNNERS.register_lazy("mil-executor", "mobilekit.parity.runners.mil_executor:MIL_EXECUTOR")
RUNNERS.register_lazy("onnxruntime", "mobilekit.parity.runners.onnxruntime:ONNXRUNTIME_CPU")

# Runners tried in order for each target's parity gate: the first available one gates the build.
# Core ML: the real framework where it exists (macOS), else the MIL executor.
GATE_RUNNERS: dict[str, tuple[str, ...]] = {"tflite": ("litert",), "coreml": ("coreml-macos", "mil-executor"),
                                             "onnx": ("onnxruntime",)}


def emulation_of(runner_name: str) -> str | None:
    """What a runner (as named in a parity result, e.g. "mil-executor:pre-backend+kernel-references")
    does instead of executing the artifact; None for runners that execute it."""
    base = runner_name.split(":", 1)[0]
    if base not in RUNNERS:
        return None if base.startswith("device") else f"unknown runner {runner_name!r}"
    return RUNNERS.get(base).emulates


def gate_runner(target: str) -> tuple[Runner | None, list[str]]:
    """The first available gate runner for `target`, and why the others were skipped."""
    skipped = []
    for name in GATE_RUNNERS.get(target, ()):
        runner = RUNNERS.get(name)
        reason = runner.unavailable_reason()
        if reason is None:
            return runner, skipped
        skipped.append(f"{name}: {reason}")
    return None, skipped
