"""Handlers for ops a converter lacks, keyed by (target, TF op type) and tried in order.

A chain is an ordered tuple of handlers; the first whose `applies(site)` returns None handles the
site. The order is the policy, and it is the same everywhere:

1. **exact decompositions** into ops the target converts natively (the model keeps the target's
   best format: Core ML stays an ML program — fp16, compression, Neural Engine, and the MIL
   executor can check it — and TFLite needs no extra runtime). Only sites emitted by a mobilekit
   layer can be decomposed (`OpSite.layer`), since the layer emits the decomposition instead.
2. **kernel routes**: a Core ML custom layer (Swift `MLCustomLayer` + Metal kernel emitted into the
   iOS bundle; forces the neural-network model format) or a TFLite Select TF op (Flex delegate,
   costs binary size in the app);
3. **expensive exact decompositions** where no kernel exists for that target (TFLite ResizeArea);
4. otherwise the op is unsupported: coverage lists it and the build stops (UnsupportedOpsError).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mobilekit.nn.site import OpSite
from mobilekit.core.registry import Registry

@dataclass(frozen=True)
class OpHandler:
    """Base: one way to get `op_type` through `target`'s converter."""

    target: str
    op_type: str
    rule: str
    summary: str
    route: ClassVar[str] = ""

    def applies(self, site: OpSite) -> str | None:
        """None when this handler handles `site`, else why not (shown in coverage reports)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"route": self.route, "rule": self.rule, "summary": self.summary}


@dataclass(frozen=True)
class Decomposition(OpHandler):
    """Emitted by a mobilekit layer in place of the op (see mobilekit.nn.layers)."""

    route: ClassVar[str] = "decomposed"
    fn: Any = None  # (handler, x, site) -> tensor
    check: Any = None  # (site) -> reason | None, after the layer check

    def applies(self, site: OpSite) -> str | None:
        if site.layer is None:
            return ("decompositions are emitted by mobilekit layers (mobilekit.nn.layers); "
                    "this op was written directly in the model")
        return self.check(site)

    def decompose(self, x, site: OpSite):
        return self.fn(x, site)


@dataclass(frozen=True)
class CoreMLCustomLayer(OpHandler):
    """The op becomes a neural-network `custom` layer naming a Swift MLCustomLayer class."""

    route: ClassVar[str] = "custom_kernel"
    class_name: str = ""
    mil_op: str = ""
    check: Any = None

    def applies(self, site: OpSite) -> str | None:
        return self.check(site)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "class_name": self.class_name}


@dataclass(frozen=True)
class SelectTfOp(OpHandler):
    """TFLite keeps the TF op as a Flex op (`SELECT_TF_OPS`); the app links the Flex delegate."""

    route: ClassVar[str] = "select_tf_ops"
    binary_size: str = ""

    def applies(self, site: OpSite) -> str | None:
        # Coverage sets flex_allowed from the TFLite converter's own verdict on the op.
        if not site.attrs.get("flex_allowed", True):
            return f"{self.op_type} is not in TFLite's Select TF ops allowlist"
        return None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "flex_op": f"Flex{self.op_type}", "binary_size": self.binary_size}


# "target:OpType" -> ordered handler chain
OP_HANDLERS: Registry[tuple[OpHandler, ...]] = Registry("unsupported-op handler chain")


def register_chain(target: str, op_type: str, *handlers: OpHandler, override: bool = False) -> None:
    for handler in handlers:
        if (handler.target, handler.op_type) != (target, op_type):
            raise ValueError(f"handler {handler.rule} is for {handler.target}:{handler.op_type}, not {target}:{op_type}")
    OP_HANDLERS.register(f"{target}:{op_type}", tuple(handlers), override=override)


def handler_chain(target: str, op_type: str) -> tuple[OpHandler, ...]:
    key = f"{target}:{op_type}"
    return OP_HANDLERS.get(key) if key in OP_HANDLERS else ()


def resolve(target: str, site: OpSite) -> tuple[OpHandler | None, list[str]]:
    """The first handler of the chain that applies to `site`, and why the earlier ones did not."""
    reasons = []
    for handler in handler_chain(target, site.op_type):
        reason = handler.applies(site)
        if reason is None:
            return handler, reasons
        reasons.append(f"{handler.rule}: {reason}")
    if not handler_chain(target, site.op_type):
        reasons.append(f"no handler registered for {target}:{site.op_type}")
    return None, reasons
