"""Control flow with nested blocks: cond, while_loop. Blocks run through `call.run_block`."""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op

MAX_WHILE_ITERATIONS = 100_000


@mil_op("cond")
def cond(call):
    true_block, false_block = call.op.blocks
    block = true_block if bool(np.asarray(call["pred"]).reshape(-1)[0]) else false_block
    outs = call.run_block(block, [])
    return tuple(outs) if len(outs) > 1 else outs[0]


@mil_op("while_loop")
def while_loop(call):
    cond_block, body_block = call.op.blocks
    values = list(call["loop_vars"])
    for _ in range(MAX_WHILE_ITERATIONS):
        (keep_going,) = call.run_block(cond_block, values)
        if not bool(np.asarray(keep_going).reshape(-1)[0]):
            return tuple(values) if len(values) > 1 else values[0]
        values = call.run_block(body_block, values)
    raise RuntimeError(f"while_loop did not finish in {MAX_WHILE_ITERATIONS} iterations")
