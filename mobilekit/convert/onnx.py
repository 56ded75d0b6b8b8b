"""ONNX target: the serving function converted by tf2onnx, input/output names kept from the I/O contract.

The model is traced exactly as for the other targets (`lowered_serving_function`, so op handlers
registered for "onnx" apply) and handed to `tf2onnx.convert.from_function`, with the ONNX composites
of `mobilekit.convert.ops.composites` as custom op handlers. tf2onnx leaves ops it
cannot translate in the graph as foreign nodes (it converts with `continue_on_error`); we list those
and refuse before anything is written, like the other targets do. fp32 only: tf2onnx has no fp16
conversion of its own.
"""
from __future__ import annotations

from pathlib import Path

from mobilekit.convert.base import Artifact, ConvertRequest
from mobilekit.core.errors import EnvironmentProblem, InputError, UnsupportedOpsError
from mobilekit.core.fsio import write_bytes_atomic

DEFAULT_OPSET = 17  # ONNX Runtime 1.15+ and every current mobile ONNX runtime; tf2onnx needs >= 13 for our ops
MIN_OPSET = 13
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")


class _Concrete:
    """tf2onnx.from_function wants an object with `get_concrete_function(*signature)`."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def get_concrete_function(self, *_signature):
        return self.fn


def _import():
    try:
        import onnx
        import tf2onnx
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise EnvironmentProblem(f"the ONNX target needs tf2onnx and onnx ({exc}); pip install tf2onnx onnx") from exc
    return onnx, tf2onnx


def foreign_nodes(model_proto) -> dict[str, list[str]]:
    """{op type: node names} of nodes no ONNX schema defines (ops tf2onnx could not translate)."""
    import onnx

    found: dict[str, list[str]] = {}
    opsets = {o.domain: o.version for o in model_proto.opset_import}
    for node in model_proto.graph.node:
        domain = "" if node.domain in STANDARD_DOMAINS[:2] else node.domain
        if domain in ("", "ai.onnx.ml"):
            known = onnx.defs.has(node.op_type, domain)
        else:  # an extension domain (e.g. com.microsoft contrib ops): fine when declared; the runtime decides
            known = domain in opsets
        if not known:
            found.setdefault(node.op_type, []).append(node.name)
    return found


class ONNXTarget:
    name = "onnx"
    suffix = ".onnx"
    numerics = ("fp32", "fp16")

    def convert(self, model, request: ConvertRequest, out_path: Path) -> Artifact:
        from mobilekit.convert.ops.composites import onnx_custom_op_handlers
        from mobilekit.convert.ops.lowering import lowered_serving_function
        from mobilekit.core.tf import tf_and_keras

        onnx, tf2onnx = _import()
        tf, _ = tf_and_keras()
        options = request.options
        opset = int(getattr(options, "opset", None) or DEFAULT_OPSET)
        if opset < MIN_OPSET:
            raise InputError(f"ONNX opset {opset} is too old; use {MIN_OPSET} or newer")
        precision = getattr(options, "precision", "fp32") or "fp32"
        if precision != "fp32":
            raise InputError("the onnx target converts fp32 only")
        fn, lowered = lowered_serving_function(model, request.io, self.name)
        # Constants a layer created eagerly (e.g. Normalization's mean and variance) are captured
        # tensors of the function, which tf2onnx would turn into graph inputs: freeze them first.
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

        output_names = sorted(fn.structured_outputs)  # the order the frozen function returns them in
        fn = convert_variables_to_constants_v2(fn)
        specs = [tf.TensorSpec(t.shape, tf.float32, name=t.name) for t in request.io.inputs]
        try:
            model_proto, _ = tf2onnx.convert.from_function(_Concrete(fn), input_signature=specs, opset=opset,
                                                           custom_op_handlers=onnx_custom_op_handlers())
        except Exception as exc:  # tf2onnx raises plain exceptions for graphs it cannot handle
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UnsupportedOpsError(f"tf2onnx could not convert the model (nothing was written): {first}",
                                      {"unsupported_ops": {"onnx": [{"op": "?", "reason": first}]}}) from exc
        _rename_io(model_proto, [t.name for t in request.io.inputs], output_names)
        bad = foreign_nodes(model_proto)
        if bad:
            lines = ["the model contains ops tf2onnx cannot convert to ONNX (nothing was written):"]
            lines += [f"  onnx: {op} at {', '.join(nodes[:8])}" for op, nodes in sorted(bad.items())]
            raise UnsupportedOpsError("\n".join(lines), {"unsupported_ops": {"onnx": [
                {"op": op, "status": "unsupported", "count": len(nodes), "nodes": nodes} for op, nodes in sorted(bad.items())]}})
        _check_names(model_proto, request)
        _describe(onnx, model_proto, request)
        onnx.checker.check_model(model_proto)
        write_bytes_atomic(out_path, model_proto.SerializeToString(deterministic=True))
        details = {"opset": opset, "converter": f"tf2onnx {tf2onnx.__version__}",
                   "inputs": [i.name for i in model_proto.graph.input], "outputs": [o.name for o in model_proto.graph.output]}
        routes = [{"op": r.op, "status": "decomposed", "rule": r.rule, "nodes": [r.scope]} for r in lowered.records]
        routes += _composite_routes(fn)
        if routes:
            details["op_routes"] = routes
        return Artifact(self.name, out_path, "fp32", details)


def _rename_io(model_proto, input_names: list[str], output_names: list[str]) -> None:
    """Name the graph's inputs and outputs (positionally) as the I/O contract does; a frozen function
    has lost the signature's names ("image:0", "Identity:0")."""
    graph = model_proto.graph
    if len(graph.input) != len(input_names) or len(graph.output) != len(output_names):
        return  # _check_names reports the mismatch
    renames = {old.name: new for old, new in zip(graph.input, input_names)}
    renames.update({old.name: new for old, new in zip(graph.output, output_names)})
    for value in (*graph.input, *graph.output):
        value.name = renames[value.name]
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]


def _composite_routes(fn) -> list[dict]:
    """The ops of `fn` tf2onnx translated through a mobilekit composite."""
    from mobilekit.convert.ops.composites import composites_of
    from mobilekit.convert.ops.graph import walk

    composites = composites_of("onnx")
    nodes: dict[str, list[str]] = {}
    for node in walk(fn):
        if node.op in composites:
            nodes.setdefault(node.op, []).append(node.name)
    return [{"op": op, "status": "composite", "rule": composites[op].rule, "nodes": sorted(names)} for op, names in sorted(nodes.items())]


def _check_names(model_proto, request: ConvertRequest) -> None:
    """tf2onnx names graph inputs/outputs after the signature (TensorSpec names, output dict keys)."""
    got_in = sorted(i.name for i in model_proto.graph.input)
    got_out = sorted(o.name for o in model_proto.graph.output)
    want_in = sorted(t.name for t in request.io.inputs)
    want_out = sorted(t.name for t in request.io.outputs)
    if got_in != want_in or got_out != want_out:
        raise InputError(f"tf2onnx produced inputs {got_in} / outputs {got_out}, expected {want_in} / {want_out}")


def _describe(onnx, model_proto, request: ConvertRequest) -> None:
    """Model-level metadata (name, version, author, license, mobilekit keys) and per-tensor descriptions."""
    meta = request.meta
    model_proto.producer_name = "mobilekit"
    from mobilekit import __version__

    model_proto.producer_version = __version__
    model_proto.doc_string = meta.description or meta.name
    model_proto.graph.name = meta.name
    props = {"name": meta.name, "version": meta.version, "author": meta.author, "license": meta.license,
             **request.user_metadata}
    labels = [label for info in request.io.outputs for label in info.labels]
    if labels:
        props["labels"] = "\n".join(labels)
    del model_proto.metadata_props[:]
    for key, value in sorted(props.items()):
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    descriptions = {t.name: t.description for t in (*request.io.inputs, *request.io.outputs)}
    for value in (*model_proto.graph.input, *model_proto.graph.output):
        value.doc_string = descriptions.get(value.name, "")


ONNX = ONNXTarget()
