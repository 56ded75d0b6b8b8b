"""The handler registry: chain order, what applies where, and the data it is built from."""
from __future__ import annotations

import numpy as np
import pytest

from mobilekit.convert.coverage import parse_tflite_op_errors
from mobilekit.convert.ops.registry import (OP_HANDLERS, CoreMLCustomLayer, Decomposition, SelectTfOp, handler_chain,
                                            register_chain, resolve)
from mobilekit.nn.site import OpSite

UNIT = (1, 1, 1, 1)


def _morph(layer: str | None = "erode", flat: bool = True, kernel=(3, 3), **attrs) -> OpSite:
    element = np.zeros((*kernel, 3), np.float32) if flat else np.ones((*kernel, 3), np.float32)
    return OpSite("Dilation2D", "model/erode", {"strides": UNIT, "rates": UNIT, "padding": "SAME", "erosion": True, **attrs},
                  (1, 16, 16, 3), element, layer)


def _resize(op: str, in_hw, out_hw, layer: str | None = "r", **attrs) -> OpSite:
    return OpSite(op, "model/r", {"size": out_hw, "align_corners": False, "half_pixel_centers": True, **attrs},
                  (1, *in_hw, 3), None, layer)


@pytest.mark.parametrize("target", ["coreml", "tflite"])
def test_every_chain_tries_exact_decompositions_before_kernels(target):
    for op in ("Dilation2D", "ResizeBicubic", "ResizeArea"):
        chain = handler_chain(target, op)
        assert isinstance(chain[0], Decomposition), (target, op)
        assert all(h.target == target and h.op_type == op for h in chain)
    assert handler_chain(target, "TensorScatterUpdate") == ()


@pytest.mark.parametrize("site,target,route,rule_or_class", [
    (_morph(), "coreml", "decomposed", "flat-element-as-maxpool"),
    (_morph(flat=False), "coreml", "custom_kernel", "MKDilation2D"),
    (_morph(layer=None), "coreml", "custom_kernel", "MKDilation2D"),  # written as a raw op: no rewrite possible
    (_morph(flat=False), "tflite", "select_tf_ops", "select-tf-op-Dilation2D"),
    (_resize("ResizeBicubic", (16, 16), (32, 32)), "coreml", "decomposed", "integer-upscale-as-transposed-conv"),
    (_resize("ResizeBicubic", (16, 16), (24, 24)), "coreml", "custom_kernel", "MKResizeBicubic"),
    (_resize("ResizeBicubic", (16, 16), (24, 24)), "tflite", "select_tf_ops", "select-tf-op-ResizeBicubic"),
    (_resize("ResizeArea", (32, 32), (16, 16)), "tflite", "decomposed", "integer-downscale-as-avgpool"),
    (_resize("ResizeArea", (16, 16), (12, 12)), "coreml", "custom_kernel", "MKResizeArea"),
    (_resize("ResizeArea", (16, 16), (12, 12)), "tflite", "decomposed", "any-size-as-matrices"),
])
def test_resolve_picks_the_first_applicable_handler(site, target, route, rule_or_class):
    handler, reasons = resolve(target, site)
    assert handler is not None and handler.route == route
    assert rule_or_class in (handler.rule, getattr(handler, "class_name", None))
    if route != "decomposed":
        assert reasons  # says why the decomposition did not apply


def test_nothing_applies_gives_reasons_for_each_handler():
    handler, reasons = resolve("coreml", _morph(flat=False, kernel=(4, 4)))
    assert handler is None and len(reasons) == 2 and "odd" in reasons[1]
    handler, reasons = resolve("coreml", _morph(strides=(1, 2, 2, 1)))
    assert handler is None and all("strides" in r for r in reasons)
    handler, reasons = resolve("tflite", _resize("ResizeArea", (16, 16), (12, 12), layer=None))
    assert handler is None and "mobilekit layers" in reasons[0]
    handler, reasons = resolve("coreml", OpSite("TensorScatterUpdate", "n"))
    assert handler is None and reasons == ["no handler registered for coreml:TensorScatterUpdate"]


def test_select_tf_op_respects_the_converters_allowlist():
    site = _resize("ResizeBicubic", (16, 16), (24, 24), layer=None, flex_allowed=False)
    handler, reasons = resolve("tflite", site)
    assert handler is None and "allowlist" in reasons[-1]


def test_registry_refuses_duplicates_and_mismatched_handlers():
    chain = handler_chain("coreml", "ResizeArea")
    with pytest.raises(KeyError):
        register_chain("coreml", "ResizeArea", *chain)
    with pytest.raises(ValueError):
        register_chain("coreml", "ResizeNearestNeighbor", *chain)
    assert "coreml:ResizeArea" in OP_HANDLERS


def test_kernel_handlers_describe_what_the_app_needs():
    custom = handler_chain("coreml", "ResizeBicubic")[-1]
    assert isinstance(custom, CoreMLCustomLayer) and custom.describe()["class_name"] == "MKResizeBicubic"
    flex = handler_chain("tflite", "Dilation2D")[-1]
    assert isinstance(flex, SelectTfOp)
    assert flex.describe()["flex_op"] == "FlexDilation2D" and "MB" in flex.describe()["binary_size"]


def test_parse_tflite_converter_errors():
    message = ("error: 'tf.Dilation2D' op is neither a custom op nor a flex op\n"
               "Some ops are not supported by the native TFLite runtime...\nTF Select ops: Dilation2D, ResizeBicubic\n"
               "Details:\n\ttf.Dilation2D(...)\nSome ops in the model are custom ops...\nCustom ops: ResizeArea\nDetails: ...")
    assert parse_tflite_op_errors(message) == {"Dilation2D": "select_tf_ops", "ResizeBicubic": "select_tf_ops",
                                               "ResizeArea": "custom"}
    assert parse_tflite_op_errors("something else broke") == {}
