"""Where mobilekit layers learn that a converter is tracing them: the active lowering, set only for
the duration of one trace by `mobilekit.convert.ops.lowering.lowering(target)`."""
from __future__ import annotations

import contextvars
from typing import Any, Protocol


class ActiveLowering(Protocol):
    def lower(self, layer: Any, x: Any) -> Any:
        """The decomposition of `layer`'s op applied to `x`, or None to emit the TF op."""


ACTIVE: contextvars.ContextVar["ActiveLowering | None"] = contextvars.ContextVar("mobilekit_lowering", default=None)


def current_lowering() -> ActiveLowering | None:
    return ACTIVE.get()
