"""The registry of MIL op implementations (filled by the op modules of this package)."""
from __future__ import annotations

from typing import Callable

from mobilekit.core.registry import Registry

MIL_OPS: Registry[Callable] = Registry("MIL op")


def mil_op(*op_types: str) -> Callable[[Callable], Callable]:
    """Register one implementation under one or more MIL op types."""

    def add(fn: Callable) -> Callable:
        for op_type in op_types:
            MIL_OPS.register(op_type, fn)
        return fn

    return add
