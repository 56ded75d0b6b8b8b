"""What a runner returns when it runs an artifact with its intermediate tensors kept: ops and values."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RunOp:
    name: str
    type: str
    inputs: dict[str, list[str]]  # parameter -> var ids
    outputs: list[str]


@dataclass
class CandidateRun:
    ops: list[RunOp]  # ops depending on the model inputs, program order
    values: dict[str, np.ndarray]  # var id -> value (op outputs, constant inputs)
    labels: dict[str, list[str]]  # var id -> names to match layer names against
    display: dict[str, str]  # var id -> name shown in reports
    dynamic: set[str]  # var ids depending on the model inputs
    outputs: dict[str, np.ndarray]  # by model output name
    output_vars: dict[str, str]  # model output name -> var id
    channels_first: bool  # rank >= 3 tensors may be channel-first (NCHW)
    target: str
    shadow: dict[str, np.ndarray] | None = None  # fp16 programs: the same program with fp32 tensors
