"""Converter composites: TF ops a converter has no translation for, taught to the converter itself
as an exact expression in ops it has.

A decomposition (`registry.Decomposition`) is emitted by a mobilekit layer, so it only reaches
models built from mobilekit layers. A composite works at graph level, for any model: while a
conversion runs, the converter's own op table gets one more entry (coremltools' TF frontend
registry, tf2onnx's custom op handlers). It is registered only where the converter has no
translation of its own, so a newer converter that learns the op wins.

| op (TF) | Core ML | ONNX | TFLite |
| --- | --- | --- | --- |
| Erfc (exact GELU: `0.5·x·erfc(-x/√2)`) | `1 - erf(x)` (MIL `sub`, `erf`) | `1 - Erf(x)` (ONNX `Sub`, `Erf`) | native: the converter fuses exact GELU into the `GELU` builtin |

`1 - erf(x)` is exact in real arithmetic; in float32 its absolute error is at most one ulp of 1
(6e-8), which is what GELU needs (its relative error grows only where erfc(x) < 1e-7, x > 3.8,
where GELU's output is x·5e-8 from 0 anyway).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from mobilekit.core.registry import Registry


@dataclass(frozen=True)
class Composite:
    """`op_type` becomes `rule` inside `target`'s converter (`translation` is in the converter's API)."""

    target: str
    op_type: str
    rule: str
    summary: str
    translation: Callable[..., Any]

    def describe(self) -> dict[str, Any]:
        return {"route": "composite", "rule": self.rule, "summary": self.summary}


# "target:OpType" -> composite
COMPOSITES: Registry[Composite] = Registry("converter composite")
_installed_coreml: set[str] = set()  # composites this process added to coremltools' registry


def register_composite(composite: Composite, *, override: bool = False) -> None:
    COMPOSITES.register(f"{composite.target}:{composite.op_type}", composite, override=override)


def composite_for(target: str, op_type: str) -> Composite | None:
    key = f"{target}:{op_type}"
    return COMPOSITES.get(key) if key in COMPOSITES else None


def composites_of(target: str) -> dict[str, Composite]:
    """{op type: composite} registered for `target`."""
    prefix = f"{target}:"
    return {k[len(prefix):]: COMPOSITES.get(k) for k in COMPOSITES if k.startswith(prefix)}


# --------------------------------------------------------------------------- Core ML (coremltools)


def install_coreml() -> frozenset[str]:
    """Add every Core ML composite coremltools lacks to its TF frontend registry (idempotent);
    return the op types this process added (coverage reports them as composites, not native)."""
    from mobilekit.core.native import import_coremltools

    import_coremltools()
    from coremltools.converters.mil.frontend.tensorflow import tf_op_registry

    registry = tf_op_registry._TF_OPS_REGISTRY
    for op, composite in composites_of("coreml").items():
        if op not in registry or op in _installed_coreml:
            registry[op] = composite.translation
            _installed_coreml.add(op)
    return frozenset(_installed_coreml)


def _coreml_erfc(context, node) -> None:
    from coremltools.converters.mil import Builder as mb

    x = context[node.inputs[0]]
    one = np.array(1.0, dtype=np.float16 if "fp16" in str(x.dtype) else np.float32)
    context.add(node.name, mb.sub(x=one, y=mb.erf(x=x), name=node.name))


# --------------------------------------------------------------------------- ONNX (tf2onnx)


def onnx_custom_op_handlers() -> dict[str, tuple[Callable[..., Any], list]]:
    """tf2onnx's `custom_op_handlers` argument: {TF op type: (handler, args)}."""
    return {op: (composite.translation, []) for op, composite in composites_of("onnx").items()}


def _onnx_erfc(ctx, node, name, args) -> None:
    from tf2onnx import utils

    dtype = ctx.get_dtype(node.input[0])
    np_dtype = utils.map_onnx_to_numpy_type(dtype)
    erf = ctx.make_node("Erf", [node.input[0]], name=utils.make_name(f"{name}_erf"))
    one = ctx.make_const(utils.make_name(f"{name}_one"), np.array(1.0, dtype=np_dtype))
    shapes, dtypes = [ctx.get_shape(node.output[0])], [dtype]
    ctx.remove_node(node.name)
    ctx.make_node("Sub", [one.output[0], erf.output[0]], outputs=[node.output[0]], name=name, shapes=shapes, dtypes=dtypes)


_ERFC_RULE = "erfc-as-one-minus-erf"
_ERFC_SUMMARY = "erfc(x) = 1 - erf(x), taught to the converter (exact GELU lowers to Erfc)"
register_composite(Composite("coreml", "Erfc", _ERFC_RULE, _ERFC_SUMMARY + ": MIL sub(1, erf(x))", _coreml_erfc))
register_composite(Composite("onnx", "Erfc", _ERFC_RULE, _ERFC_SUMMARY + ": ONNX Sub(1, Erf(x))", _onnx_erfc))
