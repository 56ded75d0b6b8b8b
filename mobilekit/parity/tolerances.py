"""Parity tolerances: the family's table (data beside the family), overridden by the build config;
a generic table for models mobilekit did not build."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mobilekit.core.config import BuildConfig, Tolerance

if TYPE_CHECKING:
    from mobilekit.core.family import ModelFamily

GENERIC = {"fp32": Tolerance(max_abs=1e-4), "fp16": Tolerance(min_psnr=40.0), "w8": Tolerance(min_psnr=30.0),
           "int8": Tolerance(min_psnr=25.0), "lowbit": Tolerance(min_psnr=15.0)}


def declared_tolerance(family: "ModelFamily", target: str, numerics: str) -> Tolerance | None:
    """The family's own entry, or None when its table has none."""
    entry = (family.tolerances or {}).get(target, {}).get(numerics)
    return Tolerance(**entry) if entry else None


def tolerance_for(family: "ModelFamily | None", target: str, numerics: str, config: BuildConfig | None = None) -> Tolerance:
    if config is not None and numerics in config.parity.tolerances.get(target, {}):
        return config.parity.tolerances[target][numerics]
    declared = declared_tolerance(family, target, numerics) if family is not None else None
    return declared or GENERIC[numerics]
