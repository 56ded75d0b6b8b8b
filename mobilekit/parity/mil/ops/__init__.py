"""NumPy reference implementations of MIL ops, registered by MIL op type in `MIL_OPS`.

Every entry is a callable `fn(call) -> np.ndarray | tuple[np.ndarray, ...]`, where `call`
(an `executor.OpCall`) carries the op's input values (float16 inputs already widened to
float32: ops compute in float32 and the executor rounds each output to the dtype the program
declares for it), the op itself (`call.op`, the coremltools MIL operation, for shapes/dtypes of
its outputs) and the opset its class belongs to (`call.opset`, "iOS15".."iOS18").

An op type without an entry is an error at run time (`MilExecutionError`), never skipped.
Custom ops register their NumPy reference the same way:

    from mobilekit.parity.mil import MIL_OPS
    MIL_OPS.register("my_custom_op", lambda call: np.tanh(call["x"]))

Op semantics follow the op definitions in
`coremltools/converters/mil/mil/ops/defs/iOS15..iOS18` (coremltools 9.0); each module cites
the behaviour it implements where it is not obvious.
"""
from __future__ import annotations

from mobilekit.parity.mil.ops.registry import MIL_OPS, mil_op  # noqa: F401  (the package's API)

# Importing the modules fills the registry (order is irrelevant: op types never collide).
from mobilekit.parity.mil.ops import (  # noqa: E402,F401
    activation,
    constexpr,
    control,
    conv,
    elementwise,
    linalg,
    norm,
    pool,
    reduce,
    resize,
    tensor,
)
