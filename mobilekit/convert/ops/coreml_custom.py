"""Core ML custom-layer route: MIL custom ops and the TF frontend translations that emit them.

Verified path (coremltools 9.0 on Linux): a MIL op declared with `register_op(is_custom_op=True)` and
`bindings = {"class_name": ...}`, produced by a TF translation registered with
`register_tf_op(tf_alias=[...], override=True)`, converts with `convert_to="neuralnetwork"` into a
`custom` layer naming the Swift `MLCustomLayer` class (`swift_shaders/.../CoreMLLayers.swift`):

| TF op | MIL op | class | parameters (+ weights) |
| --- | --- | --- | --- |
| Dilation2D | mk_dilation2d | MKDilation2D | kernel_height, kernel_width, data_layout; weights[0] = float32 (kh, kw, C) element when not flat |
| ResizeBicubic | mk_resize_bicubic | MKResizeBicubic | output_height, output_width, data_layout |
| ResizeArea | mk_resize_area | MKResizeArea | output_height, output_width, data_layout |

The translation transposes NHWC → NCHW around the custom op and writes `data_layout = "NCHW"`, so
the layer's GPU `encode` path (channel-first textures) can run. The MIL op *definitions* are
registered once when this module is imported (adding op types is harmless); the TF *translations*
only exist inside `custom_layer_translations()`, which restores coremltools' registry afterwards,
so other conversions in the process (and coverage's native-op table) never see them.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from mobilekit.core.native import import_coremltools

ct = import_coremltools()
from coremltools.converters.mil import Builder as mb  # noqa: E402
from coremltools.converters.mil.frontend.tensorflow import tf_op_registry  # noqa: E402
from coremltools.converters.mil.mil import Operation, types  # noqa: E402
from coremltools.converters.mil.mil.input_type import DefaultInputs, InputSpec, TensorInputType  # noqa: E402
from coremltools.converters.mil.mil.ops.defs._op_reqs import register_op  # noqa: E402
from coremltools.converters.mil.mil.ops.registry import SSAOpRegistry  # noqa: E402

CLASS_NAMES = {"Dilation2D": "MKDilation2D", "ResizeBicubic": "MKResizeBicubic", "ResizeArea": "MKResizeArea"}
MIL_OPS = {"Dilation2D": "mk_dilation2d", "ResizeBicubic": "mk_resize_bicubic", "ResizeArea": "mk_resize_area"}
_installed: set[str] = set()


def installed_translations() -> frozenset[str]:
    """TF op types whose translation is currently mobilekit's (inside `custom_layer_translations`)."""
    return frozenset(_installed)


# --------------------------------------------------------------------------- MIL custom ops


def _register(cls):
    if cls.__name__ in SSAOpRegistry.custom_ops:  # module re-import (tests): keep the first definition
        return SSAOpRegistry.custom_ops[cls.__name__]
    return register_op(cls, is_custom_op=True)


class mk_dilation2d(Operation):  # noqa: N801 (MIL op types are snake_case class names)
    """Morphological dilation of an NCHW tensor (TF Dilation2D: SAME, unit strides and rates)."""

    input_spec = InputSpec(
        x=TensorInputType(type_domain="T"),
        kernel_height=TensorInputType(const=True, type_domain=types.int32),
        kernel_width=TensorInputType(const=True, type_domain=types.int32),
        data_layout=TensorInputType(const=True, type_domain=types.str),
        filter=TensorInputType(const=True, optional=True, type_domain="T"),
    )
    type_domains = {"T": (types.fp16, types.fp32)}

    def default_inputs(self):
        return DefaultInputs(filter=None)

    @property
    def bindings(self):
        binding = {"class_name": CLASS_NAMES["Dilation2D"], "input_order": ["x"],
                   "parameters": ["kernel_height", "kernel_width", "data_layout"],
                   "description": "tf.nn.dilation2d (SAME, strides 1, rates 1); mobilekit MKDilation2D"}
        if self.filter is not None and np.any(self.filter.val):
            binding["weights"] = [np.asarray(self.filter.val, np.float32).ravel()]
        return binding

    def type_inference(self):
        return types.tensor(self.x.dtype, list(self.x.shape))


class _resize_op(Operation):
    input_spec = InputSpec(
        x=TensorInputType(type_domain="T"),
        output_height=TensorInputType(const=True, type_domain=types.int32),
        output_width=TensorInputType(const=True, type_domain=types.int32),
        data_layout=TensorInputType(const=True, type_domain=types.str),
    )
    type_domains = {"T": (types.fp16, types.fp32)}
    tf_op = ""

    @property
    def bindings(self):
        return {"class_name": CLASS_NAMES[self.tf_op], "input_order": ["x"],
                "parameters": ["output_height", "output_width", "data_layout"],
                "description": f"tf.image.resize {self.tf_op}; mobilekit {CLASS_NAMES[self.tf_op]}"}

    def type_inference(self):
        shape = list(self.x.shape)
        shape[-2:] = [self.output_height.val, self.output_width.val]
        return types.tensor(self.x.dtype, shape)


class mk_resize_bicubic(_resize_op):  # noqa: N801
    tf_op = "ResizeBicubic"


class mk_resize_area(_resize_op):  # noqa: N801
    tf_op = "ResizeArea"


mk_dilation2d = _register(mk_dilation2d)
mk_resize_bicubic = _register(mk_resize_bicubic)
mk_resize_area = _register(mk_resize_area)


# --------------------------------------------------------------------------- TF translations


def _nchw(x):
    return mb.transpose(x=x, perm=[0, 3, 1, 2])


def _finish(context, node, y):
    context.add(node.name, mb.transpose(x=y, perm=[0, 2, 3, 1], name=node.name))


def Dilation2D(context, node):  # noqa: N802 (named after the TF op: register_tf_op uses __name__)
    x, f = context[node.inputs[0]], context[node.inputs[1]]
    if f.val is None:
        raise NotImplementedError(f"{node.name}: MKDilation2D needs a constant structuring element")
    strides, rates = node.attr.get("strides", [1] * 4), node.attr.get("rates", [1] * 4)
    if any(int(s) != 1 for s in strides) or any(int(r) != 1 for r in rates) or node.attr.get("padding", "SAME") != "SAME":
        raise NotImplementedError(f"{node.name}: MKDilation2D implements SAME padding with unit strides and rates only")
    element = np.asarray(f.val, np.float32)
    kh, kw = element.shape[:2]
    kwargs = {"x": _nchw(x), "kernel_height": int(kh), "kernel_width": int(kw), "data_layout": "NCHW"}
    if np.any(element):
        kwargs["filter"] = element
    _finish(context, node, mb.mk_dilation2d(**kwargs))


def _resize(context, node, op):
    x, size = context[node.inputs[0]], context[node.inputs[1]].val
    if size is None:
        raise NotImplementedError(f"{node.name}: {CLASS_NAMES[node.op]} needs a constant output size")
    y = op(x=_nchw(x), output_height=int(size[0]), output_width=int(size[1]), data_layout="NCHW")
    _finish(context, node, y)


def ResizeBicubic(context, node):  # noqa: N802
    if node.attr.get("align_corners", False) or not node.attr.get("half_pixel_centers", False):
        raise NotImplementedError(f"{node.name}: MKResizeBicubic implements half_pixel_centers=True only")
    _resize(context, node, mb.mk_resize_bicubic)


def ResizeArea(context, node):  # noqa: N802
    if node.attr.get("align_corners", False):
        raise NotImplementedError(f"{node.name}: MKResizeArea implements align_corners=False only")
    _resize(context, node, mb.mk_resize_area)


TRANSLATIONS = {"Dilation2D": Dilation2D, "ResizeBicubic": ResizeBicubic, "ResizeArea": ResizeArea}


@contextlib.contextmanager
def custom_layer_translations(op_types) -> Iterator[None]:
    """Install mobilekit's translations for `op_types`; restore coremltools' registry on exit."""
    registry = tf_op_registry._TF_OPS_REGISTRY
    saved = dict(registry)
    try:
        for op in sorted(set(op_types)):
            tf_op_registry.register_tf_op(TRANSLATIONS[op], override=True)
            _installed.add(op)
        yield
    finally:
        registry.clear()
        registry.update(saved)
        _installed.clear()


def convert_neuralnetwork(fn, inputs, op_types, compute_units):
    """Convert `fn` with the custom-layer translations for `op_types` to a neural-network model."""
    with custom_layer_translations(op_types):
        return ct.convert([fn], source="tensorflow", inputs=inputs, convert_to="neuralnetwork",
                          compute_units=compute_units)


def convert_milinternal(fn, inputs, op_types):
    """The fp32 MIL program the neural-network backend starts from (what parity executes)."""
    with custom_layer_translations(op_types):
        return ct.convert([fn], source="tensorflow", inputs=inputs, convert_to="milinternal",
                          compute_precision=ct.precision.FLOAT32)


def custom_layers_in(spec) -> list[dict]:
    """The custom layers of a neural-network spec: name, class, parameters, weight counts."""
    layers = []
    for layer in spec.neuralNetwork.layers:
        if layer.WhichOneof("layer") != "custom":
            continue
        params = {k: getattr(v, v.WhichOneof("value")) for k, v in layer.custom.parameters.items()}
        layers.append({"name": layer.name, "class_name": layer.custom.className, "parameters": params,
                       "weights": [len(w.floatValue) for w in layer.custom.weights]})
    return layers
