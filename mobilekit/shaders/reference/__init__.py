"""NumPy reference implementations of the kernels shipped in ``swift_shaders/``, one module per kernel.

These are the *definitions*: the C header ``mk_kernel_math.h`` (shared by the Metal shaders and the
Swift CPU path) implements exactly this arithmetic, the Swift tests compare against fixtures written
from these functions (or from TensorFlow where TF has the op) and ``tests/unit/test_shader_references.py``
checks the TF-backed ones against TensorFlow within 1e-5.

All images are float32 NHWC ``(N, H, W, C)``; ``(H, W, C)`` is accepted and returned as such.
Arithmetic is float32 in the order written below unless a docstring says otherwise.

Kernels (each module's docstring states the TensorFlow semantics it reproduces, where TF has the op):

* :mod:`.morphology`: ``dilation2d``, ``erosion2d`` (``tf.nn.dilation2d`` / ``tf.nn.erosion2d``)
* :mod:`.bicubic`: ``resize_bicubic`` (``tf.image.resize(method="bicubic")``)
* :mod:`.area`: ``resize_area`` (``tf.image.resize(method="area")``)
* :mod:`.stitch`: ``stitch`` (masked blend)
* :mod:`.click_maps`: ``click_maps``, ``click_maps_normalized``, ``RefClick``
* :mod:`.depth_of_field`: ``depth_of_field``, ``dof_radius``

``reference.stitch``, ``reference.click_maps`` and ``reference.depth_of_field`` are the functions (they
shadow the submodules of the same name); reach a module's other names with
``from mobilekit.shaders.reference.<module> import ...``.
"""
from __future__ import annotations

from mobilekit.shaders.reference._common import F32, FLT_MAX, FLT_MIN
from mobilekit.shaders.reference.area import area_coverage, area_span, resize_area
from mobilekit.shaders.reference.bicubic import BICUBIC_A, BICUBIC_TABLE_SIZE, bicubic_coeffs, bicubic_table_entry, resize_bicubic
from mobilekit.shaders.reference.click_maps import CLICK_TRUNCATE, RefClick, click_maps, click_maps_normalized
from mobilekit.shaders.reference.depth_of_field import depth_of_field, dof_radius
from mobilekit.shaders.reference.morphology import dilation2d, erosion2d
from mobilekit.shaders.reference.stitch import stitch

__all__ = [
    "BICUBIC_A", "BICUBIC_TABLE_SIZE", "CLICK_TRUNCATE", "F32", "FLT_MAX", "FLT_MIN",
    "RefClick", "area_coverage", "area_span", "bicubic_coeffs", "bicubic_table_entry", "click_maps",
    "click_maps_normalized", "depth_of_field", "dilation2d", "dof_radius", "erosion2d", "resize_area",
    "resize_bicubic", "stitch",
]
