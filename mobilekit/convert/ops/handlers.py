"""The built-in handler chains (data), in the order `registry.resolve` tries them.

Routes per op and why:

| op (TF) | Core ML | TFLite |
| --- | --- | --- |
| Dilation2D (erosion2d / dilation2d) | flat element: -maxpool(-x) / maxpool; else custom layer `MKDilation2D` | flat element: maxpool; else Select TF op |
| ResizeBicubic | integer upscale: transposed conv; else custom layer `MKResizeBicubic` | integer upscale: transposed conv; else Select TF op |
| ResizeArea | integer downscale: avg_pool; else custom layer `MKResizeArea` | integer downscale: avg_pool; else two matrices (ResizeArea is not in the Flex allowlist) |

TF lowers `tf.nn.erosion2d` to `-Dilation2D(-x, reverse(f))`, so at graph level an erosion is a
Dilation2D between two Negs and its custom layer is `MKDilation2D` (same kernel, same math);
`MKErosion2D` serves apps that run the kernel themselves. Custom layers take only what the Swift
classes implement: unit strides/rates, SAME padding, odd window sizes, a constant element
(Dilation2D); half-pixel centres without align_corners (resizes).
"""
from __future__ import annotations

import mobilekit.convert.ops.decompose as dec
from mobilekit.convert.ops.registry import CoreMLCustomLayer, Decomposition, SelectTfOp, register_chain
from mobilekit.nn.site import OpSite

# Source: LiteRT "Select TensorFlow operators" guide, section "Binary size"
# (https://ai.google.dev/edge/litert/models/ops_select): built for Android with
# --config=android_arm -c opt, built-in ops only = 796 KB C++ / 561 KB APK, built-in + TF ops =
# 23.0 MB / 8.0 MB; a selective build for one model (3 TF ops) = 4.1 MB / 1.8 MB.
FLEX_BINARY_SIZE = ("+~7.4 MB APK per ABI (8.0 MB vs 561 KB, armeabi-v7a) with the prebuilt "
                    "org.tensorflow:tensorflow-lite-select-tf-ops AAR; ~1.2 MB with a selective build "
                    "(source: LiteRT 'Select TensorFlow operators' guide, Binary size table)")


# --------------------------------------------------------------------------- checks


def _morph_kernel_check(site: OpSite) -> str | None:
    if not site.unit_strides():
        return f"strides/rates must be 1 (got strides {site.attrs.get('strides')}, rates {site.attrs.get('rates')})"
    if site.attrs.get("padding", "SAME") != "SAME":
        return f"padding must be SAME (got {site.attrs.get('padding')})"
    return None


def _flat_check(site: OpSite) -> str | None:
    reason = _morph_kernel_check(site)
    if reason:
        return reason
    if site.filter is None:
        return "structuring element is not a known constant"
    if not site.flat_filter():
        return "structuring element is not flat (non-zero values)"
    return None


def _custom_morph_check(site: OpSite) -> str | None:
    reason = _morph_kernel_check(site)
    if reason:
        return reason
    if site.filter is None or site.filter.ndim != 3:
        return "structuring element must be a constant (kh, kw, C) tensor"
    kh, kw = site.filter.shape[:2]
    if kh % 2 == 0 or kw % 2 == 0:
        return f"MKDilation2D takes odd window sizes, got {kh}x{kw}"
    return None


def _static(site: OpSite) -> str | None:
    if site.input_shape is None or any(d is None for d in site.input_shape) or len(site.input_shape) != 4:
        return f"needs a static NHWC input shape (got {site.input_shape})"
    if site.size is None:
        return "output size is not a known constant"
    return None


def _area_down_check(site: OpSite) -> str | None:
    reason = _static(site)
    if reason:
        return reason
    (h, w), (oh, ow) = site.spatial, site.size
    if h % oh or w % ow:
        return f"{h}x{w} -> {oh}x{ow} is not an integer-factor downscale"
    return None


def _area_any_check(site: OpSite) -> str | None:
    if site.attrs.get("align_corners", False):
        return "align_corners=True is not implemented"
    return _static(site)


def _bicubic_up_check(site: OpSite) -> str | None:
    reason = _static(site) or _bicubic_mode_check(site)
    if reason:
        return reason
    (h, w), (oh, ow) = site.spatial, site.size
    if oh % h or ow % w:
        return f"{h}x{w} -> {oh}x{ow} is not an integer-factor upscale"
    if dec.bicubic_axis_kernel(h, oh) is None or dec.bicubic_axis_kernel(w, ow) is None:
        return f"TF's rounded bicubic weights for {h}x{w} -> {oh}x{ow} are not phase-periodic"
    return None


def _bicubic_mode_check(site: OpSite) -> str | None:
    if site.attrs.get("align_corners", False) or not site.attrs.get("half_pixel_centers", True):
        return "only half_pixel_centers=True, align_corners=False (what tf.image.resize emits) is implemented"
    return None


def _area_mode_check(site: OpSite) -> str | None:
    return "align_corners=True is not implemented" if site.attrs.get("align_corners", False) else None


# --------------------------------------------------------------------------- decompositions


def _flat(x, site: OpSite):
    return dec.flat_morphology(x, tuple(site.filter.shape[:2]), erosion=bool(site.attrs.get("erosion")))


def _avgpool(x, site: OpSite):
    return dec.area_integer_downscale(x, site.spatial, site.size)


def _bicubic(x, site: OpSite):
    return dec.bicubic_integer_upscale(x, tuple(int(d) for d in site.input_shape), site.size)


def _area_matrix(x, site: OpSite):
    return dec.area_matrices(x, tuple(int(d) for d in site.input_shape), site.size)


def _chains():
    for target in ("coreml", "tflite"):
        flat = Decomposition(target, "Dilation2D", "flat-element-as-maxpool",
                             "flat structuring element: dilation = max_pool(SAME), erosion = -max_pool(-x)",
                             fn=_flat, check=_flat_check)
        avg = Decomposition(target, "ResizeArea", "integer-downscale-as-avgpool",
                            "integer-factor downscale: avg_pool(kh x kw, stride kh x kw)", fn=_avgpool, check=_area_down_check)
        cubic = Decomposition(target, "ResizeBicubic", "integer-upscale-as-transposed-conv",
                              "integer-factor upscale: per-axis stride-k transposed conv with TF's 1/1024-table kernel "
                              "+ per-row/column renormalisation", fn=_bicubic, check=_bicubic_up_check)
        if target == "coreml":
            yield target, "Dilation2D", (flat, CoreMLCustomLayer(target, "Dilation2D", "custom-layer-MKDilation2D",
                                                                 "Core ML custom layer MKDilation2D (Metal + CPU)",
                                                                 class_name="MKDilation2D", mil_op="mk_dilation2d",
                                                                 check=_custom_morph_check))
            yield target, "ResizeBicubic", (cubic, CoreMLCustomLayer(target, "ResizeBicubic", "custom-layer-MKResizeBicubic",
                                                                     "Core ML custom layer MKResizeBicubic (Metal + CPU)",
                                                                     class_name="MKResizeBicubic", mil_op="mk_resize_bicubic",
                                                                     check=_bicubic_mode_check))
            yield target, "ResizeArea", (avg, CoreMLCustomLayer(target, "ResizeArea", "custom-layer-MKResizeArea",
                                                                "Core ML custom layer MKResizeArea (Metal + CPU)",
                                                                class_name="MKResizeArea", mil_op="mk_resize_area",
                                                                check=_area_mode_check))
        else:
            yield target, "Dilation2D", (flat, SelectTfOp(target, "Dilation2D", "select-tf-op-Dilation2D",
                                                          "TFLite Select TF op FlexDilation2D", binary_size=FLEX_BINARY_SIZE))
            yield target, "ResizeBicubic", (cubic, SelectTfOp(target, "ResizeBicubic", "select-tf-op-ResizeBicubic",
                                                              "TFLite Select TF op FlexResizeBicubic", binary_size=FLEX_BINARY_SIZE))
            # ResizeArea is not in the Flex allowlist (the converter reports it as a custom op), so
            # the exact dense decomposition is the only route left.
            yield target, "ResizeArea", (avg, Decomposition(target, "ResizeArea", "any-size-as-matrices",
                                                            "any sizes: A_y · X · A_xᵀ with TF's fractional coverages "
                                                            "(dense, O(H_in + W_in) MACs per output)",
                                                            fn=_area_matrix, check=_area_any_check))


for _target, _op, _chain in _chains():
    register_chain(_target, _op, *_chain)
