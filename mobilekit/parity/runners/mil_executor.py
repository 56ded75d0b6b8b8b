"""Core ML parity on any OS: the saved program executed op by op by the NumPy MIL executor.

It checks that the converted program computes what TensorFlow computes (fp16 rounding per op
output emulated); it is not a model of GPU / Neural Engine numerics."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.core.tensors import ModelIO
from mobilekit.parity import fp16
from mobilekit.parity.runners.base import Runner, pixel_inputs, stack_cases
from mobilekit.parity.runners.intermediates import CandidateRun, RunOp


class MilExecutorRunner(Runner):
    name = "mil-executor"
    emulates = ("the converted ML program executed op by op in NumPy (mobilekit's MIL executor); "
                "the Core ML framework did not run (it needs macOS)")
    target = "coreml"
    description = "NumPy MIL executor over the saved ML program (Linux and macOS)"

    def run(self, artifact: Path, inputs: dict[str, np.ndarray], io: ModelIO, function: str | None = None) -> dict[str, np.ndarray]:
        from mobilekit.parity.mil import load_program, run_program

        program = load_program(artifact)
        feeds = pixel_inputs(inputs, io)
        count = len(next(iter(feeds.values())))
        per_case = [{k: np.asarray(v, np.float32) for k, v in run_program(program, {n: a[i : i + 1] for n, a in feeds.items()},
                                                                                       function=function or "main").outputs.items()}
                    for i in range(count)]
        return stack_cases(per_case)


def run_with_intermediates(artifact: Path, case_inputs: dict[str, np.ndarray], io: ModelIO, precision: str) -> CandidateRun:
    """One case through the executor with every op output kept (and, for fp16 programs, their fp32 shadow)."""
    from mobilekit.parity.mil import load_program, run_program

    prog = load_program(artifact)
    feeds = pixel_inputs(case_inputs, io)
    result = run_program(prog, feeds, keep_intermediates=True)
    fn = prog.function(result.function)
    values: dict[str, np.ndarray] = dict(result.intermediates)
    dynamic = {var.name for var in fn.inputs.values()}
    for name, var in fn.inputs.items():
        if name in feeds:
            values.setdefault(var.name, np.asarray(feeds[name]))
    ops, labels = [], {}
    for op in fn.operations:
        if op.op_type == "const":
            continue
        inputs = {}
        for key, var in op.inputs.items():
            group = list(var) if isinstance(var, (list, tuple)) else [var]
            inputs[key] = [v.name for v in group]
            for v in group:
                if v.name not in values and v.val is not None and not isinstance(v.val, str):
                    values[v.name] = np.asarray(v.val)
        outs = [v.name for v in op.outputs]
        if any(n in dynamic for names in inputs.values() for n in names):
            dynamic.update(outs)
            ops.append(RunOp(op.name, op.op_type, inputs, outs))
            for out in outs:
                labels[out] = [out, op.name]
    _, outputs_desc = prog.io(result.function)
    output_vars = {d["name"]: d["var"] for d in outputs_desc}
    shadow = None
    if prog.compute_precision == "fp16":
        shadow = fp16.fp32_shadow_run(artifact, feeds).intermediates
    return CandidateRun(ops, values, labels, {v: v for v in values}, dynamic,
                        {k: np.asarray(v) for k, v in result.outputs.items()}, output_vars, True, "coreml", shadow)


MIL_EXECUTOR = MilExecutorRunner()
