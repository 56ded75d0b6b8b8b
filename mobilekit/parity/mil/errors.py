"""The MIL executor's error type, shared by program loading and execution."""
from __future__ import annotations

from mobilekit.core.errors import InputError


class MilExecutionError(InputError):
    """The program cannot be loaded or executed (unknown op, bad feeds, failing op)."""
