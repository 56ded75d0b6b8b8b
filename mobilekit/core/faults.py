"""Fault injection for the reliability tests: `fault_point(name)` kills the process with SIGKILL when
`MOBILEKIT_FAULT_AT` names that point, exactly as an out-of-memory kill or a pulled plug would stop
a build there. Unset (always, outside tests), it does nothing.

Points: `before-zip` (bundles staged, nothing published), `zip-written` (a bundle's partial zip is
complete beside its destination, not yet renamed), `before-reports` (bundles published, reports not
yet)."""
from __future__ import annotations

import os
import signal

ENV = "MOBILEKIT_FAULT_AT"


def fault_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
