"""Fault injection for the reliability tests: `fault_point(name)` kills the process with SIGKILL when
`MOBILEKIT_FAULT_AT` names that point, exactly as an out-of-memory kill or a pulled plug would stop
a build there. Unset (always, outside tests), it does nothing.

Points: `before-zip` (bundles staged, nothing published), `zip-written` (a bundle's partial zip is
complete beside its destination, not yet renamed), `before-reports` (bundles published, reports not
yet), `dataset-shard-written` (a dataset shard and its progress are written, the index not yet).
`MOBILEKIT_FAULT_PAUSE=<point>:<seconds>` sleeps there instead, so a test can overlap two processes."""
from __future__ import annotations

import os
import signal
import time

ENV = "MOBILEKIT_FAULT_AT"
PAUSE_ENV = "MOBILEKIT_FAULT_PAUSE"


def fault_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    point, _, seconds = os.environ.get(PAUSE_ENV, "").partition(":")
    if point == name:
        time.sleep(float(seconds or 1))
