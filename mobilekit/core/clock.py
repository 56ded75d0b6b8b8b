"""The only source of time for artifacts: SOURCE_DATE_EPOCH when set, else a fixed epoch."""
from __future__ import annotations

import datetime as _dt
import os

FIXED_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry


def artifact_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or not value.strip():
        return FIXED_EPOCH
    try:
        return max(int(value), FIXED_EPOCH)
    except ValueError as exc:
        from mobilekit.core.errors import InputError

        raise InputError(f"SOURCE_DATE_EPOCH must be an integer number of seconds, got {value!r}") from exc


def artifact_datetime() -> _dt.datetime:
    return _dt.datetime.fromtimestamp(artifact_epoch(), tz=_dt.timezone.utc)


def artifact_timestamp_iso() -> str:
    return artifact_datetime().strftime("%Y-%m-%dT%H:%M:%SZ")
