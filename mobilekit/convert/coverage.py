"""Op coverage: what every op of a model becomes for each target, decided before conversion.

For each target the model is traced twice through `mobilekit.convert.tracing.serving_function`:
as written (the op list the report shows) and *lowered* for that target (mobilekit layers emit
exact decompositions where a handler allows, see `mobilekit.convert.ops`). Every node of the lowered
graph, function library included, is then classified:

- **native**: the target's converter handles the op type itself. Core ML: the op type is in
  coremltools' TF frontend registry (`tf_op_registry._TF_OPS_REGISTRY`, read at run time, so it
  follows the installed coremltools), or is structural (variable reads, calls, no-ops) and removed
  by coremltools' graph passes before translation (`COREML_STRUCTURAL_OPS`), or only depends on
  constants and variables (coremltools freezes variables and folds such subgraphs with TF itself;
  reported with rule "constant-folded"). TFLite: decided by
  the converter itself — we attempt a builtins-only conversion of the lowered function and parse
  the op types its error lists ("TF Select ops: …" = would run as Flex ops, "Custom ops: …" = no
  TF kernel allowed either). No hand-kept table can drift from the installed converter this way;
  the cost is one extra in-memory conversion of the frozen graph (seconds for the segmentation
  net); the TFLite converter itself passes its real builtins-only conversion as the probe, so it
  pays nothing extra.
- **decomposed**: a mobilekit layer emitted an exact decomposition (rule named);
- **composite**: the converter translates the op through a composite mobilekit taught it (an exact
  expression in the converter's own ops, any model; `mobilekit.convert.ops.composites`);
- **custom_kernel** (Core ML custom layer, class named) / **select_tf_ops** (TFLite Flex op):
  the first applicable kernel handler of the (target, op type) chain;
- **unsupported**: no handler applies; `require_supported` raises `UnsupportedOpsError` listing every
  such op with its node names, for all targets at once, before anything is written.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from mobilekit.convert.ops.composites import composite_for
from mobilekit.convert.ops.graph import CALL_OPS, GraphNode, constant_nodes, site_of, walk
from mobilekit.convert.ops.lowering import Decomposed, lowered_serving_function
from mobilekit.convert.ops.registry import CoreMLCustomLayer, SelectTfOp, handler_chain, resolve
from mobilekit.core.errors import InputError, UnsupportedOpsError

TARGETS = ("coreml", "tflite")

# Op types a concrete function's graph holds that coremltools removes before op translation
# (freezing variables to constants, inlining function calls, dropping control-only nodes).
COREML_STRUCTURAL_OPS: dict[str, str] = {
    "ReadVariableOp": "variable read: frozen to a constant",
    "VarHandleOp": "variable handle: frozen to a constant",
    "NoOp": "control dependency only",
    "Assert": "removed by coremltools' delete_asserts pass",
    "StatefulPartitionedCall": "function call: inlined",
    "PartitionedCall": "function call: inlined",
}


@dataclass
class OpRow:
    """One op type with one outcome on one target (an op type can appear in several rows)."""

    op: str
    status: str  # native | decomposed | composite | custom_kernel | select_tf_ops | unsupported
    nodes: list[str] = field(default_factory=list)
    rule: str | None = None
    summary: str | None = None
    class_name: str | None = None
    flex_op: str | None = None
    binary_size: str | None = None
    reasons: list[str] = field(default_factory=list)
    introduced_by: str | None = None  # a decomposition rule, for ops a decomposition emitted

    def to_dict(self) -> dict[str, Any]:
        data = {"op": self.op, "status": self.status, "count": len(self.nodes), "nodes": self.nodes}
        for key in ("rule", "summary", "class_name", "flex_op", "binary_size", "introduced_by"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.reasons:
            data["reasons"] = self.reasons
        return data


@dataclass
class TargetCoverage:
    target: str
    rows: list[OpRow]
    native_source: str
    function: Any = field(default=None, repr=False)  # the lowered concrete function the converter uses
    decomposed: list[Decomposed] = field(default_factory=list)

    def by_status(self, status: str) -> list[OpRow]:
        return [r for r in self.rows if r.status == status]

    @property
    def unsupported(self) -> list[OpRow]:
        return self.by_status("unsupported")

    @property
    def custom_layers(self) -> list[OpRow]:
        return self.by_status("custom_kernel")

    @property
    def select_tf_ops(self) -> list[OpRow]:
        return self.by_status("select_tf_ops")

    def routes(self) -> list[dict[str, Any]]:
        """Every op that is not native, with its route: what artifact details and manifests record."""
        return [r.to_dict() for r in self.rows if r.status != "native" and not r.introduced_by]

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "native_source": self.native_source,
                "supported": not self.unsupported, "ops": [r.to_dict() for r in self.rows],
                "unsupported": [r.to_dict() for r in self.unsupported]}

    def require_supported(self) -> None:
        require_supported([self])


@dataclass
class CoverageReport:
    targets: dict[str, TargetCoverage]
    graph_ops: dict[str, list[str]]  # op type -> node names of the model as written

    @property
    def supported(self) -> bool:
        return all(not t.unsupported for t in self.targets.values())

    def to_dict(self) -> dict[str, Any]:
        return {"supported": self.supported, "targets": {name: cov.to_dict() for name, cov in self.targets.items()},
                "graph_ops": {op: len(nodes) for op, nodes in sorted(self.graph_ops.items())}}

    def require_supported(self) -> None:
        require_supported(self.targets.values())


def require_supported(coverages: Iterable[TargetCoverage]) -> None:
    """Raise UnsupportedOpsError (exit 1) naming every unsupported op and node, all targets at once."""
    coverages = list(coverages)
    bad = {c.target: c.unsupported for c in coverages if c.unsupported}
    if not bad:
        return
    lines = ["the model contains ops no handler can convert (nothing was written):"]
    for target, rows in bad.items():
        for row in rows:
            nodes = ", ".join(row.nodes[:8]) + (f", … ({len(row.nodes)} nodes)" if len(row.nodes) > 8 else "")
            lines.append(f"  {target}: {row.op} at {nodes}")
            lines.extend(f"      - {reason}" for reason in row.reasons)
    details = {"unsupported_ops": {t: [r.to_dict() for r in rows] for t, rows in bad.items()}}
    raise UnsupportedOpsError("\n".join(lines), details)


# --------------------------------------------------------------------------- native op sets


def coreml_native_ops() -> frozenset[str]:
    """TF op types coremltools' TF frontend translates (its registry, minus mobilekit's own
    temporary custom-layer translations if a conversion has them installed)."""
    from mobilekit.core.native import import_coremltools

    import_coremltools()
    from coremltools.converters.mil.frontend.tensorflow.tf_op_registry import _TF_OPS_REGISTRY

    from mobilekit.convert.ops import coreml_custom
    from mobilekit.convert.ops.composites import install_coreml

    composites = install_coreml()
    return (frozenset(set(_TF_OPS_REGISTRY) - coreml_custom.installed_translations() - composites)
            | frozenset(COREML_STRUCTURAL_OPS))


@contextlib.contextmanager
def quiet_stderr():
    """The TFLite converter prints MLIR diagnostics for every failing op straight to fd 2."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def parse_tflite_op_errors(message: str) -> dict[str, str]:
    """{TF op type: "select_tf_ops" | "custom"} from a builtins-only conversion error."""
    found: dict[str, str] = {}
    for label, kind in (("TF Select ops", "select_tf_ops"), ("Custom ops", "custom")):
        for match in re.finditer(rf"{label}: ([^\n]+)", message):
            for op in match.group(1).split(","):
                if op.strip():
                    found.setdefault(op.strip(), kind)
    for op in re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message):
        found.setdefault(op, "custom")
    return found


def tflite_non_builtin_ops(fn) -> dict[str, str]:
    """Op types of `fn` the TFLite builtins cannot run, from a builtins-only conversion attempt."""
    from mobilekit.core.tf import tf_and_keras

    import logging

    tf, _ = tf_and_keras()
    # Without `trackable_obj` the converter freezes the function's graph (variables become
    # constants) and converts that: the same TF -> TFLite legalization decides op support, in
    # under a second, where passing the Keras model makes it serialize every layer first (~20 s
    # for the segmentation net). The "deprecated path" warning it logs is silenced.
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([fn])
    finally:
        absl.setLevel(level)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        with quiet_stderr():
            converter.convert()
    except Exception as exc:  # ConverterError; parse what it says
        found = parse_tflite_op_errors(str(exc))
        if not found:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"TFLite conversion failed for a reason other than unsupported ops: {first}") from exc
        return found
    return {}


# --------------------------------------------------------------------------- classification


def _kernel_site(node: GraphNode, by_name: dict[str, GraphNode], flex: dict[str, str] | None):
    site = site_of(node, by_name)
    if flex is not None:
        site = type(site)(site.op_type, site.node, {**site.attrs, "flex_allowed": flex.get(node.op) == "select_tf_ops"},
                          site.input_shape, site.filter, site.layer)
    return site


def _classify(target: str, node: GraphNode, by_name, native: frozenset[str] | None,
              non_builtin: dict[str, str] | None, constant: set[str]) -> OpRow:
    if target == "coreml":
        is_native = node.op in native
    else:
        is_native = node.op not in non_builtin or node.op in CALL_OPS
    if is_native:
        return OpRow(node.op, "native")
    composite = composite_for(target, node.op) if target == "coreml" else None
    if composite is not None:
        return OpRow(node.op, "composite", rule=composite.rule, summary=composite.summary)
    if target == "coreml" and node.name in constant:
        # coremltools' constant_propagation pass evaluates constant subgraphs with TF itself
        return OpRow(node.op, "native", rule="constant-folded", summary="constant subgraph, folded before translation")
    handler, reasons = resolve(target, _kernel_site(node, by_name, non_builtin if target == "tflite" else None))
    if handler is None:
        if target == "tflite" and non_builtin.get(node.op) == "select_tf_ops" and not handler_chain(target, node.op):
            reasons.append("the TFLite converter could run it as a Select TF op (Flex, which costs app binary size); "
                           "register a SelectTfOp handler for it to accept that")
        if target == "tflite" and non_builtin.get(node.op) == "custom":
            reasons.append("not in TFLite's Select TF ops allowlist either (the converter reports it as a custom op)")
        return OpRow(node.op, "unsupported", reasons=reasons)
    row = OpRow(node.op, handler.route, rule=handler.rule, summary=handler.summary, reasons=reasons)
    if isinstance(handler, CoreMLCustomLayer):
        row.class_name = handler.class_name
    if isinstance(handler, SelectTfOp):
        row.flex_op, row.binary_size = f"Flex{node.op}", handler.binary_size
    return row


def _merge(rows: Iterable[tuple[OpRow, str]]) -> list[OpRow]:
    merged: dict[tuple, OpRow] = {}
    for row, node in rows:
        key = (row.op, row.status, row.rule, row.introduced_by, tuple(row.reasons))
        if key not in merged:
            merged[key] = row
        merged[key].nodes.append(node)
    order = {"unsupported": 0, "custom_kernel": 1, "select_tf_ops": 2, "decomposed": 3, "composite": 4, "native": 5}
    out = sorted(merged.values(), key=lambda r: (order[r.status], r.op, r.rule or ""))
    for row in out:
        row.nodes = sorted(set(row.nodes))
    return out


def analyze_target(model, io, target: str, original: Sequence[GraphNode] | None = None, *,
                   probe: Callable[[Any], dict[str, str]] | None = None) -> TargetCoverage:
    """Lower and trace the model for `target`, and classify every node of the lowered graph.

    `probe(fn)` (TFLite only) returns the op types of the lowered function the builtins cannot run
    (default `tflite_non_builtin_ops`); the TFLite converter passes its real builtins-only
    conversion, so a model whose ops are all builtins is converted once, not probed and converted."""
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; accepted: {', '.join(TARGETS)}")
    fn, lowered = lowered_serving_function(model, io, target)
    decomposed = lowered.records
    nodes = walk(fn)
    by_name = {n.name: n for n in nodes}
    constant = constant_nodes(nodes)
    if target == "coreml":
        native, non_builtin, source = coreml_native_ops(), None, "coremltools TF frontend op registry"
    else:
        native, non_builtin, source = None, (probe or tflite_non_builtin_ops)(fn), "TFLite builtins-only conversion attempt"
    original_names = {n.name for n in original} if original is not None else None
    rows: list[tuple[OpRow, str]] = []
    for node in nodes:
        row = _classify(target, node, by_name, native, non_builtin, constant)
        layer = next((k for k in lowered.kept if k.op == node.op and node.name.startswith(k.scope + "/")), None)
        if layer is not None and row.status != "native":
            # the layer saw more than the graph does (static shapes, that it could be decomposed)
            graph_only = tuple(f"{h.rule}:" for h in handler_chain(target, node.op) if h.route == "decomposed")
            row.reasons = list(dict.fromkeys([*layer.reasons, *(r for r in row.reasons if not r.startswith(graph_only))]))
        if original_names is not None and node.name not in original_names:
            owner = next((d for d in decomposed if node.name.startswith(d.scope + "/")), None)
            if owner is not None:
                row.introduced_by = owner.rule
        rows.append((row, node.name))
    lowered_names = {n.name for n in nodes}
    for record in decomposed:
        # every node of the model as written that the decomposition replaced (the op itself and
        # its helpers, e.g. erosion2d's Neg / ReverseV2), so each original op appears in the report
        replaced = [(n.op, n.name) for n in (original or ())
                    if n.name.startswith(record.scope + "/") and n.name not in lowered_names]
        if not any(op == record.op for op, _ in replaced):
            replaced.append((record.op, record.scope))
        for op, name in replaced:
            rows.append((OpRow(op, "decomposed", rule=record.rule, summary=record.summary), name))
    return TargetCoverage(target, _merge(rows), source, fn, decomposed)


def coverage_report(model, io, targets: Sequence[str] = TARGETS) -> CoverageReport:
    """Coverage of the model for each of `targets` (see module docstring)."""
    from mobilekit.convert.tracing import serving_function

    original = walk(serving_function(model, io))
    graph_ops: dict[str, list[str]] = defaultdict(list)
    for node in original:
        graph_ops[node.op].append(node.name)
    return CoverageReport({t: analyze_target(model, io, t, original) for t in targets}, dict(graph_ops))
