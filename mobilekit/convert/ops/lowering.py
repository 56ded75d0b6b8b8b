"""Lowering: trace a model for one target with mobilekit layers emitting decompositions.

A converter traces the serving function inside `lowering(target)`; while it is active, each
mobilekit layer (`mobilekit.nn.layers`) asks `Lowering.lower` whether the first applicable
handler of its (target, op type) chain is a decomposition, and if so emits it instead of the TF op
(recorded in `records`). The active lowering lives in a ContextVar only for the duration of that
trace, so a model outside conversion always runs the TF ops.

Keras layers get one rewrite of their own while lowering: tf_keras runs a grouped convolution
(`Conv2D(groups > 1)`, ConvNeXt's depthwise stage) inside a `tf.function(jit_compile=True)`, because
TF's CPU kernel lacks grouped convolution. The converters see that as a no-inline, XLA-only
function call (`PartitionedCall`), which coremltools and tf2onnx cannot translate. The op inside is
a plain grouped `Conv2D`, which every target has, so the trace for a target calls it directly
(`_direct_grouped_convolution`). The TensorFlow reference still runs the layer as written.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator

from mobilekit.convert.ops.registry import Decomposition, resolve
from mobilekit.nn.lowering import ACTIVE as _ACTIVE



@dataclass(frozen=True)
class Decomposed:
    """A mobilekit layer that emitted a decomposition instead of its TF op."""

    op: str
    rule: str
    summary: str
    layer: str
    scope: str  # the layer's name scope in the traced graph (the op's nodes lived under it)


@dataclass(frozen=True)
class Kept:
    """A mobilekit layer that emitted its TF op (no decomposition applies), and why."""

    op: str
    scope: str
    reasons: tuple[str, ...]


@dataclass
class Lowering:
    target: str
    records: list[Decomposed] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)

    def lower(self, layer, x):
        """The decomposition of `layer`'s op applied to `x`, or None to emit the TF op."""
        site = layer.op_site(x)
        handler, reasons = resolve(self.target, site)
        if not isinstance(handler, Decomposition):
            # kernel route (or unsupported): the converter and coverage see the TF op; keep the
            # layer's reasons (they know more than the graph, e.g. the static input shape)
            kept = Kept(site.op_type, site.node, tuple(reasons))
            if kept not in self.kept:
                self.kept.append(kept)
            return None
        record = Decomposed(site.op_type, handler.rule, handler.summary, layer.name, site.node)
        if record not in self.records:  # a layer traced twice (e.g. re-used) is one site
            self.records.append(record)
        return handler.decompose(x, site)


@contextlib.contextmanager
def _direct_grouped_convolution() -> Iterator[None]:
    """tf_keras' grouped convolutions call their Conv2D without the XLA-compiled function wrapper."""
    try:
        from tf_keras.src.layers.convolutional.base_conv import Conv
    except ImportError:  # another Keras: nothing to rewrite
        yield
        return
    wrapped = Conv.__dict__.get("_jit_compiled_convolution_op")
    Conv._jit_compiled_convolution_op = lambda self, inputs, kernel: self.convolution_op(inputs, kernel)
    try:
        yield
    finally:
        if wrapped is None:
            del Conv._jit_compiled_convolution_op
        else:
            Conv._jit_compiled_convolution_op = wrapped


@contextlib.contextmanager
def lowering(target: str) -> Iterator[Lowering]:
    active = Lowering(target)
    token = _ACTIVE.set(active)
    try:
        with _direct_grouped_convolution():
            yield active
    finally:
        _ACTIVE.reset(token)


def lowered_serving_function(model, io, target: str):
    """(concrete serving function traced for `target`, the `Lowering` with what the layers did)."""
    from mobilekit.convert.tracing import serving_function

    with lowering(target) as active:
        fn = serving_function(model, io)
    return fn, active
