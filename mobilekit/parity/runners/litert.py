"""LiteRT (`ai-edge-litert`, the Android runtime) executing `.tflite` through its signature."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.core.tensors import ModelIO
from mobilekit.parity.runners.base import Runner, stack_cases
from mobilekit.parity.runners.intermediates import CandidateRun, RunOp

SIGNATURE = "serving_default"


def signature_for(function: str | None) -> str:
    """The signature of a module: the end-to-end model is `serving_default` (in a one-module file and
    in a file holding every module as a signature), other modules are named after themselves."""
    return SIGNATURE if function in (None, "main") else function


class LiteRTRunner(Runner):
    target = "tflite"

    def __init__(self, name: str, xnnpack: bool) -> None:
        self.name = name
        self.xnnpack = xnnpack
        self.description = f"LiteRT interpreter ({'XNNPACK delegate' if xnnpack else 'builtin reference kernels, no delegate'})"

    def run(self, artifact: Path, inputs: dict[str, np.ndarray], io: ModelIO, function: str | None = None) -> dict[str, np.ndarray]:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.AUTO if self.xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        interpreter = Interpreter(model_path=str(artifact), num_threads=1, experimental_op_resolver_type=resolver)
        runner = interpreter.get_signature_runner(signature_for(function))
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


def run_with_intermediates(artifact: Path, case_inputs: dict[str, np.ndarray], io: ModelIO, precision: str) -> CandidateRun:
    """One case with builtin kernels and every tensor preserved, so each op output can be read back."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Builtin kernels: a delegate (XNNPACK) would fuse the graph into one node and keep no intermediates.
    interp = Interpreter(model_path=str(artifact), num_threads=1, experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    runner = interp.get_signature_runner(SIGNATURE)
    outputs = runner(**{n: np.ascontiguousarray(a, np.float32) for n, a in case_inputs.items()})
    names = {d["index"]: d["name"] for d in interp.get_tensor_details()}
    values: dict[str, np.ndarray] = {}

    def var(index: int) -> str:
        key = f"t{index}"
        if key not in values:
            try:
                values[key] = np.array(interp.get_tensor(index))
            except ValueError:  # tensors without data (scratch)
                pass
        return key

    dynamic = {var(int(d["index"])) for d in runner.get_input_details().values()}
    ops, labels = [], {}
    for detail in interp._get_ops_details():  # no public API lists ops with their tensors
        inputs = {f"in{k}": [var(int(i))] for k, i in enumerate(detail["inputs"]) if int(i) >= 0}
        outs = [var(int(i)) for i in detail["outputs"] if int(i) >= 0]
        if not any(n in dynamic for names_ in inputs.values() for n in names_):
            continue
        dynamic.update(outs)
        ops.append(RunOp(names.get(int(detail["outputs"][0]), f"op{detail['index']}"), detail["op_name"], inputs, outs))
        for out in outs:
            labels[out] = names.get(int(out[1:]), "").split(";")
    output_vars = {n: f"t{d['index']}" for n, d in runner.get_output_details().items()}
    display = {v: names.get(int(v[1:]), v) for v in values}
    return CandidateRun(ops, values, labels, display, dynamic, {k: np.asarray(v) for k, v in outputs.items()},
                        output_vars, False, "tflite")


LITERT_XNNPACK = LiteRTRunner("litert", xnnpack=True)
LITERT_BUILTIN = LiteRTRunner("litert-builtin", xnnpack=False)
