"""Walk a traced concrete function's GraphDef, function library included, and describe its nodes.

The coverage report and the graph-level handlers both read the graph through this module:
`walk(fn)` lists every node (name, op type, attributes, inputs) of the top-level graph and of every
function in its library (node names of library functions are prefixed with the function name), and
`site_of(node, nodes)` turns a node into the `OpSite` handlers decide on, resolving constant inputs
(structuring elements, resize sizes) through Const / Identity / ReverseV2 chains.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from mobilekit.nn.site import OpSite

# Function-call ops: their bodies are in the library and are walked there.
CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})


@dataclass(frozen=True)
class GraphNode:
    name: str  # qualified: "<function>/<node>" inside a library function
    op: str
    attrs: dict[str, Any]
    inputs: tuple[str, ...]  # producer node names (qualified), control inputs dropped
    function: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)  # the NodeDef


def _attr_value(value) -> Any:
    kind = value.WhichOneof("value")
    if kind == "list":
        lst = value.list
        for name in ("i", "f", "s", "b"):
            items = list(getattr(lst, name))
            if items:
                return tuple(v.decode() if isinstance(v, bytes) else v for v in items)
        return ()
    if kind == "s":
        return value.s.decode(errors="replace")
    if kind in ("i", "f", "b"):
        return getattr(value, kind)
    if kind == "func":
        return value.func.name
    return None  # tensors, shapes, types: not needed by any handler (Const values are read from `raw`)


def _producer(ref: str, prefix: str) -> str | None:
    if ref.startswith("^"):
        return None
    name = ref.split(":")[0]
    return f"{prefix}{name}"


def _nodes(node_defs: Iterable, function: str | None) -> list[GraphNode]:
    prefix = f"{function}/" if function else ""
    out = []
    for nd in node_defs:
        inputs = tuple(p for p in (_producer(i, prefix) for i in nd.input) if p is not None)
        attrs = {k: _attr_value(v) for k, v in nd.attr.items() if not k.startswith("_")}
        out.append(GraphNode(prefix + nd.name, nd.op, attrs, inputs, function, nd))
    return out


def walk(fn) -> list[GraphNode]:
    """Every node of `fn`'s graph and of every function in its library, in GraphDef order."""
    graph_def = fn.graph.as_graph_def()
    nodes = _nodes(graph_def.node, None)
    library = {f.signature.name for f in graph_def.library.function}
    for function in sorted(graph_def.library.function, key=lambda f: f.signature.name):
        nodes.extend(_nodes(function.node_def, function.signature.name))
    # an op whose type is a library function's name is a direct call: structural, like PartitionedCall
    return [GraphNode(n.name, "PartitionedCall", n.attrs, n.inputs, n.function, n.raw) if n.op in library else n
            for n in nodes]


# Ops whose output is not a function of their inputs: never constant-folded.
_NOT_FOLDABLE = frozenset({"Placeholder", "VarHandleOp", "RandomUniform", "RandomStandardNormal", "Multinomial",
                           "StatefulPartitionedCall", "PartitionedCall", "NoOp", "Assert", "Print"})
_DT_RESOURCE = 20  # tensorflow.core.framework.types_pb2.DT_RESOURCE


def constant_nodes(nodes: Iterable[GraphNode]) -> set[str]:
    """Names of nodes that only depend on constants and captured variables (which converters
    freeze into constants): converters fold such subgraphs before translating ops."""
    nodes = list(nodes)
    const: set[str] = set()
    for node in nodes:  # captured variables: resource placeholders
        if node.op == "Placeholder" and node.raw is not None and node.raw.attr["dtype"].type == _DT_RESOURCE:
            const.add(node.name)
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.name in const or node.op in _NOT_FOLDABLE:
                continue
            if node.op == "Const" or (node.inputs and all(i in const for i in node.inputs)):
                const.add(node.name)
                changed = True
    return const


def const_value(name: str, by_name: dict[str, GraphNode], depth: int = 0) -> np.ndarray | None:
    """The value of node `name` when it is a constant expression we can fold, else None."""
    node = by_name.get(name)
    if node is None or depth > 16:
        return None
    if node.op == "Const":
        from tensorflow.python.framework import tensor_util

        return tensor_util.MakeNdarray(node.raw.attr["value"].tensor)
    if node.op in ("Identity", "StopGradient") and node.inputs:
        return const_value(node.inputs[0], by_name, depth + 1)
    if node.op in ("ReverseV2", "Neg") and node.inputs:
        value = const_value(node.inputs[0], by_name, depth + 1)
        if value is None:
            return None
        if node.op == "Neg":
            return -value
        axis = const_value(node.inputs[1], by_name, depth + 1) if len(node.inputs) > 1 else None
        return None if axis is None else np.flip(value, tuple(int(a) for a in np.atleast_1d(axis)))
    return None


def site_of(node: GraphNode, by_name: dict[str, GraphNode]) -> OpSite:
    """What graph-level handlers know about a node: op type, attributes, constant operands."""
    attrs = dict(node.attrs)
    filt = None
    if node.op == "Dilation2D" and len(node.inputs) > 1:
        filt = const_value(node.inputs[1], by_name)
    if node.op.startswith("Resize") and len(node.inputs) > 1:
        size = const_value(node.inputs[1], by_name)
        if size is not None:
            attrs["size"] = tuple(int(s) for s in np.asarray(size).reshape(-1))
    return OpSite(op_type=node.op, node=node.name, attrs=attrs, filter=None if filt is None else np.asarray(filt, np.float32))
