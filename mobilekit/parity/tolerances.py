"""Tolerance profiles: the packaged table (data) overridden by the build config."""
from __future__ import annotations

import functools
from importlib import resources

import yaml

from mobilekit.core.config import BuildConfig, Tolerance

GENERIC = {"fp32": Tolerance(max_abs=1e-4), "fp16": Tolerance(min_psnr=40.0), "w8": Tolerance(min_psnr=30.0),
           "int8": Tolerance(min_psnr=25.0), "lowbit": Tolerance(min_psnr=15.0)}


@functools.cache
def _table() -> dict:
    return yaml.safe_load((resources.files("mobilekit.parity") / "tolerances.yaml").read_text())


def tolerance_for(family: str | None, target: str, precision: str, config: BuildConfig | None = None) -> Tolerance:
    if config is not None and precision in config.parity.tolerances.get(target, {}):
        return config.parity.tolerances[target][precision]
    entry = _table().get(family or "", {}).get(target, {}).get(precision)
    return Tolerance(**entry) if entry else GENERIC[precision]
