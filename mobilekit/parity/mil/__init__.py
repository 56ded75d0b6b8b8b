"""Reference MIL executor: Core ML program parity on Linux.

`MLModel.predict` needs macOS. This package loads a saved ML program (.mlpackage) back into its
MIL program and executes it op by op in NumPy, so a converted model can be checked against
TensorFlow anywhere. It follows the documented MIL op semantics; it is *not* a model of the
numerics of Core ML's GPU / Neural Engine backends (see executor.py for what precision it
emulates).

    from mobilekit.parity.mil import load_program, run_program
    prog = load_program("model.mlpackage")
    res = run_program(prog, {"image": pixels_nhwc_0_255, "clicks": clicks})
    res.outputs["mask"]
"""
from mobilekit.parity.mil.executor import MilExecutionError, MilRunResult, OpCall, run_program
from mobilekit.parity.mil.ops import MIL_OPS, mil_op
from mobilekit.parity.mil.program import MilProgram, load_program

__all__ = [
    "MIL_OPS",
    "MilExecutionError",
    "MilProgram",
    "MilRunResult",
    "OpCall",
    "load_program",
    "mil_op",
    "run_program",
]
