"""Checks on a reference model before it is converted.

`check_finite_weights`: every weight (trainable or not: kernels, biases, BatchNorm statistics) must be
finite. A model holding NaN/Inf weights (a diverged training run, a corrupt file) cannot be matched
by any conversion: its outputs are NaN/Inf, and the parity gate would fail against it without
saying why. We refuse it before converting, naming each broken weight
(`conv2d_3/kernel: 12 NaN, 0 Inf of 864 values`). This is bad input, not a failed gate:
`NonFiniteWeights` is an `InputError`, exit code 2. `allow_nonfinite=True` (the CLI's
`--allow-nonfinite-weights`) converts anyway and returns the findings so the caller can warn."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from mobilekit.core.errors import InputError

SHOWN = 5  # weights named in the message; the rest are counted


class NonFiniteWeights(InputError):
    """The reference model holds NaN/Inf weights; `findings` lists them."""

    def __init__(self, message: str, findings: list["NonFinite"]) -> None:
        super().__init__(message)
        self.findings = findings


@dataclass(frozen=True)
class NonFinite:
    name: str  # layer/weight, e.g. "conv2d_3/kernel"
    nan: int
    inf: int
    size: int

    def __str__(self) -> str:
        return f"{self.name}: {self.nan} NaN, {self.inf} Inf of {self.size} values"


def _variables(model: Any) -> Iterable[Any]:
    """The weights of a tf_keras / Keras 3 model, or the variables of a SavedModel signature (tf.Module)."""
    if getattr(model, "is_savedmodel_signature", False):  # the variables its serving function captures
        weights = list(getattr(model.signature, "variables", ()) or ()) or list(getattr(model.loaded, "variables", ()) or ())
    else:
        weights = getattr(model, "weights", None)
        weights = getattr(model, "variables", None) or () if weights is None else weights
    seen: set[int] = set()
    for variable in weights:
        if id(variable) not in seen:
            seen.add(id(variable))
            yield variable


def _weight_name(variable: Any) -> str:
    """`layer/weight`: Keras 3 variables have a `path`, tf_keras / TF variables a `name` ending in ':0'."""
    name = getattr(variable, "path", None) or getattr(variable, "name", None) or "?"
    name = str(name)
    return name[:-2] if name.endswith(":0") else name


def _values(variable: Any) -> np.ndarray | None:
    try:
        value = variable.numpy()
    except Exception:  # noqa: BLE001 - an uninitialized / non-numeric variable has nothing to check
        return None
    value = np.asarray(value)
    if value.dtype.kind == "f":
        return value
    if value.dtype.kind == "V" or value.dtype.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):  # ml_dtypes floats
        try:
            return value.astype(np.float32)
        except (TypeError, ValueError):
            return None
    return None  # integers and booleans are always finite


def nonfinite_weights(model: Any) -> list[NonFinite]:
    """Every weight of `model` holding NaN or Inf, in the model's weight order."""
    found = []
    for variable in _variables(model):
        values = _values(variable)
        if values is None or values.size == 0:
            continue
        nan = int(np.count_nonzero(np.isnan(values)))
        inf = int(np.count_nonzero(np.isinf(values)))
        if nan or inf:
            found.append(NonFinite(_weight_name(variable), nan, inf, int(values.size)))
    return found


def describe(findings: list[NonFinite]) -> str:
    shown = "; ".join(str(f) for f in findings[:SHOWN])
    return shown + (f"; and {len(findings) - SHOWN} more weight(s)" if len(findings) > SHOWN else "")


def check_finite_weights(model: Any, *, source: str = "the model", allow_nonfinite: bool = False) -> list[NonFinite]:
    """Refuse (`NonFiniteWeights`, exit 2) a model with NaN/Inf weights unless `allow_nonfinite`;
    returns the findings (empty for a healthy model)."""
    findings = nonfinite_weights(model)
    if findings and not allow_nonfinite:
        raise NonFiniteWeights(
            f"{source}: {len(findings)} weight(s) hold NaN/Inf, so no converted model can match it (the reference "
            f"itself is broken: diverged training or a corrupt file): {describe(findings)}. "
            "Pass --allow-nonfinite-weights to convert it anyway.", findings)
    return findings
