"""Object removal on full-resolution photos with a model trained at a small size (model-agnostic).

`remove_object(image, mask, inpaint, strategy=...)` runs one of the `STRATEGIES`:

* ``none``: the whole photo resized to `model_size` (aspect not kept), one inpaint, bicubic back up.
* ``crop``: IOPaint's crop: one box per outer mask contour grown by 128 px (shifted inward at the
  edges), inpainted at crop size (memory grows with the mask).
* ``resize``: IOPaint's resize: longest side down to 1280 px, one inpaint, bicubic back up.
* ``shrink``: per mask region, a context box fitted into `model_size`, filled from the boundary
  inwards (the hole eroded in ~6 steps, each step keeping the ring it fills, feathered into
  the previous step's fill so the rings leave no seams).
* ``two-step``: per region, a plain inpaint at model size, then at twice that size the upscaled
  result stitched into the sharper downscaled original and the mask's margin (and small regions)
  re-inpainted; ``both``: two-step whose first step shrinks the mask.

Per-region strategies work in float32 at most at 2x `model_size` per side (downscales and the final
upscale run in row bands, `highres_peers`), so memory follows the masks, not the photo. Outside the
mask the output is bit-identical to the input (masked pixels are the only ones written, as uint8).
Resizes, erosion and stitch are the math of the `swift_shaders/` kernels (`mobilekit.shaders.reference`;
vectorized equivalents in `highres_peers`). Hole pixels are zeroed in the image handed to `inpaint`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import ndimage

from mobilekit.core.errors import InputError
from mobilekit.core.registry import Registry
from mobilekit.families.inpainting.highres_peers import (
    Box, bicubic_bands, component_boxes, crop_box, erode_square, fit_within, margin_steps,
    merge_regions, outer_components, resize_area_fast, resize_bicubic_fast, to_uint8, to_unit_float,
)
from mobilekit.shaders.reference import stitch

InpaintFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
Progress = Callable[[str], None]
Strategy = Callable[[np.ndarray, np.ndarray, InpaintFn, tuple[int, int], Progress], np.ndarray]

STRATEGIES: Registry[Strategy] = Registry("high-resolution strategy")
CROP_MARGIN_PX = 128
RESIZE_LIMIT_PX = 1280
SHRINK_TARGET_STEPS = 6
SHRINK_FEATHER = 2  # rings over which a shrink step's fill blends into the previous step's
TWO_STEP_ERODE_PX = 6  # at the 2x resolution: regions up to 13 px thick there are redone entirely


def remove_object(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, *, strategy: str = "both",
                  model_size: tuple[int, int] = (256, 256), progress: Progress | None = None) -> np.ndarray:
    """Fill `mask` (bool (H, W), True = remove) of `image` (uint8 (H, W, 3)) -> uint8 (H, W, 3).
    Pixels outside the mask are the input's; an empty mask returns a copy without calling `inpaint`."""
    if strategy not in STRATEGIES:
        raise InputError(f"unknown high-resolution strategy {strategy!r}; accepted: {', '.join(STRATEGIES.names())}")
    run = STRATEGIES.get(strategy)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    if mask.shape != image.shape[:2]:
        raise InputError(f"mask {mask.shape} does not match the image {image.shape[:2]}")
    if len(model_size) != 2 or min(model_size) < 1:
        raise InputError(f"model_size must be two positive ints, got {model_size}")
    hole = np.asarray(mask, bool)
    if not hole.any():
        return image.copy()
    if hole.all():
        raise InputError("the mask covers the whole image: nothing is left to fill it from")
    return run(image, hole, inpaint, (int(model_size[0]), int(model_size[1])), progress or (lambda _: None))


def check_mask(mask_array: np.ndarray, image_shape: tuple[int, ...], path_for_messages: str) -> tuple[np.ndarray, list[str]]:
    """Validate a user mask loaded as grayscale -> (bool mask, notes). Values {0, 1} or {0, 255} are
    binary; others are thresholded at 128 (0.5 for floats in [0, 1]) with a note. Raises InputError
    on a size mismatch or a mask covering the whole image."""
    values, notes = np.asarray(mask_array), []
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    if values.ndim != 2:
        raise InputError(f"mask {path_for_messages}: expected a grayscale image, got an array of shape {values.shape}")
    (h, w), (ih, iw) = values.shape, image_shape[:2]
    if (h, w) != (ih, iw):
        raise InputError(f"mask {path_for_messages} is {w}x{h} px but the image is {iw}x{ih} px (width x height)")
    if values.dtype != bool and not np.isfinite(values).all():
        raise InputError(f"mask {path_for_messages} has non-finite values")
    if values.dtype == bool:
        hole = values
    elif np.isin(values, (0, 1)).all() or np.isin(values, (0, 255)).all():
        hole = values > 0
    else:
        hole = values >= (0.5 if values.dtype.kind == "f" and values.max() <= 1 else 128)
        notes.append(f"mask {path_for_messages} is not binary ({np.unique(values).size} distinct values): "
                     "thresholded at 50 % (128)")
    if hole.all():
        raise InputError(f"mask {path_for_messages} covers the whole image: nothing is left to fill it from")
    if not hole.any():
        notes.append("empty mask: the photo is returned unchanged")
    return hole, notes


# --------------------------------------------------------------------------- shared steps
def _inpaint(inpaint: InpaintFn, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """One call of the model on `image` (float32, hole zeroed) -> float32 (h, w, 3)."""
    blanked = np.where(hole[:, :, None], np.float32(0.0), image).astype(np.float32)
    result = np.asarray(inpaint(blanked, hole.astype(np.float32)), np.float32)
    if result.shape != image.shape:
        raise ValueError(f"inpaint returned shape {result.shape} for an input of shape {image.shape}")
    return result


def _keep(base: np.ndarray, filled: np.ndarray, where: np.ndarray) -> np.ndarray:
    """`filled` where `where` is set, `base` elsewhere (the stitch kernel with a binary mask)."""
    return stitch(base, filled, where.astype(np.float32))


def _downscale(image: np.ndarray, mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(float32 image, bool hole) of an image box and its mask at `size` (area; any coverage = hole)."""
    if size == image.shape[:2]:
        return to_unit_float(image), mask.copy()
    return resize_area_fast(image, size), resize_area_fast(mask, size)[:, :, 0] > 0


def _paste(out: np.ndarray, box: Box, result: np.ndarray, mask: np.ndarray) -> None:
    """Write `result` (float32, any size), bicubic-upscaled to the box, into `out[box]` where `mask`."""
    y0, x0, y1, x1 = box
    target = out[y0:y1, x0:x1]
    if result.shape[:2] == target.shape[:2]:
        target[mask] = to_uint8(result[mask])
        return
    if not mask.any():
        return
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    window = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    for row, band in bicubic_bands(result, target.shape[:2], window):
        selected = mask[row : row + band.shape[0], window[1] : window[3]]
        if selected.any():
            target[row : row + band.shape[0], window[1] : window[3]][selected] = to_uint8(band[selected])


def _whole_photo(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, size: tuple[int, int]) -> np.ndarray:
    """Resize the photo to `size`, inpaint once, paste the masked pixels of the upscaled result."""
    small, hole = _downscale(image, mask, size)
    completed = _keep(small, _inpaint(inpaint, small, hole), hole)
    out = image.copy()
    _paste(out, (0, 0, *image.shape[:2]), completed, mask)
    return out


# --------------------------------------------------------------------------- whole-photo strategies
@STRATEGIES.register("none")
def strategy_none(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, model_size: tuple[int, int],
                  progress: Progress) -> np.ndarray:
    """The whole photo at `model_size` (aspect not kept), bicubic back up."""
    progress(f"none: whole photo {image.shape[1]}x{image.shape[0]} -> {model_size[1]}x{model_size[0]}")
    return _whole_photo(image, mask, inpaint, model_size)


@STRATEGIES.register("resize")
def strategy_resize(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, model_size: tuple[int, int],
                    progress: Progress) -> np.ndarray:
    """IOPaint's resize: longest side down to 1280 px (aspect kept), bicubic back up."""
    size = fit_within(image.shape[:2], (RESIZE_LIMIT_PX, RESIZE_LIMIT_PX))
    progress(f"resize: whole photo {image.shape[1]}x{image.shape[0]} -> {size[1]}x{size[0]}")
    return _whole_photo(image, mask, inpaint, size)


@STRATEGIES.register("crop")
def strategy_crop(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, model_size: tuple[int, int],
                  progress: Progress) -> np.ndarray:
    """IOPaint's crop: per outer contour, its box + 128 px inpainted at crop size (no cap)."""
    labels, boxes = outer_components(mask)
    out = image.copy()
    for number, box in enumerate(boxes, start=1):
        y0, x0, y1, x1 = crop_box(box, CROP_MARGIN_PX, mask.shape)
        progress(f"crop {number}/{len(boxes)}: {x1 - x0}x{y1 - y0} px at full resolution")
        hole = mask[y0:y1, x0:x1]
        result = _inpaint(inpaint, to_unit_float(image[y0:y1, x0:x1]), hole)
        own = hole & (labels[y0:y1, x0:x1] == number)
        out[y0:y1, x0:x1][own] = to_uint8(result[own])
    return out


# --------------------------------------------------------------------------- per-region strategies
def shrink_fill(image: np.ndarray, hole: np.ndarray, inpaint: InpaintFn) -> np.ndarray:
    """Fill `hole` from its boundary inwards: each step inpaints the remaining hole and keeps only the
    ring that the next erosion removes (all of it at the last step) -> float32 image.

    Each step's fill is blended into the previous step's over a band `SHRINK_FEATHER` rings wide
    inside the remaining hole (weight rising from 0 at its boundary), so consecutive rings join
    without a seam: hard-cut rings left visible terraces in large holes (and cost 0.1-0.4 dB)."""
    if hole.all():
        return _keep(image, _inpaint(inpaint, image, hole), hole)
    depth = int(ndimage.distance_transform_cdt(hole, metric="chessboard").max())  # 3x3 erosions to empty
    radius, _ = margin_steps(depth, SHRINK_TARGET_STEPS)
    filled, remaining, previous = image, hole, None
    while remaining.any():
        smaller = erode_square(remaining, radius)
        fill = _inpaint(inpaint, filled, remaining)
        if previous is not None:
            inside = ndimage.distance_transform_cdt(remaining, metric="chessboard").astype(np.float32)
            weight = np.clip(inside / np.float32(SHRINK_FEATHER * radius + 1), 0.0, 1.0)[:, :, None]
            fill = weight * fill + (1.0 - weight) * previous
        filled = _keep(filled, fill, remaining & ~smaller)
        previous, remaining = fill, smaller
    return filled


def _refine_at(image: np.ndarray, mask: np.ndarray, first: np.ndarray, size: tuple[int, int],
               inpaint: InpaintFn) -> np.ndarray:
    """Two-step's step 2 at `size`: the upscaled `first` stitched into the downscaled original, the
    mask's margin (mask minus its erosion; small regions entirely) re-inpainted."""
    sharp, hole = _downscale(image, mask, size)
    stitched = _keep(sharp, resize_bicubic_fast(first, size), hole)
    margin = hole & ~erode_square(hole, TWO_STEP_ERODE_PX)
    if not margin.any():
        return stitched
    return _keep(stitched, _inpaint(inpaint, stitched, margin), margin)


def _per_region(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, model_size: tuple[int, int],
                progress: Progress, *, shrink: bool, two_step: bool) -> np.ndarray:
    """Run the model-resolution pipeline on each region's context box; paste masked pixels."""
    regions = merge_regions(component_boxes(mask), mask.shape)
    out = image.copy()
    for number, (_, box) in enumerate(regions, start=1):
        y0, x0, y1, x1 = box
        box_image, box_mask = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
        size = fit_within(box_mask.shape, model_size)
        wide = fit_within(box_mask.shape, (2 * model_size[0], 2 * model_size[1])) if two_step else size
        progress(f"region {number}/{len(regions)}: box {x1 - x0}x{y1 - y0} px, model res {size[1]}x{size[0]}"
                 + (f", refined at {wide[1]}x{wide[0]}" if wide != size else ""))
        small, hole = _downscale(box_image, box_mask, size)
        first = shrink_fill(small, hole, inpaint) if shrink else _keep(small, _inpaint(inpaint, small, hole), hole)
        result = _refine_at(box_image, box_mask, first, wide, inpaint) if wide != size else first
        _paste(out, box, result, box_mask)
    return out


@STRATEGIES.register("shrink")
def strategy_shrink(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, model_size: tuple[int, int],
                    progress: Progress) -> np.ndarray:
    """Per region at model resolution, filled with a shrinking mask."""
    return _per_region(image, mask, inpaint, model_size, progress, shrink=True, two_step=False)


@STRATEGIES.register("two-step")
def strategy_two_step(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, model_size: tuple[int, int],
                      progress: Progress) -> np.ndarray:
    """Per region: plain inpaint at model resolution, margin refined at twice it."""
    return _per_region(image, mask, inpaint, model_size, progress, shrink=False, two_step=True)


@STRATEGIES.register("both")
def strategy_both(image: np.ndarray, mask: np.ndarray, inpaint: InpaintFn, model_size: tuple[int, int],
                  progress: Progress) -> np.ndarray:
    """Two-step whose first step uses the shrinking mask."""
    return _per_region(image, mask, inpaint, model_size, progress, shrink=True, two_step=True)
