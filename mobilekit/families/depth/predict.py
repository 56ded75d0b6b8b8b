"""Depth on a user's photo: run the model at its input size, bring depth back to the photo's
resolution, write a colourised map and a 16-bit PNG (millimetres), and, with a tap, a
depth-of-field ("bokeh") image whose blur radius grows with |depth − depth at the tap|.

The blur is the depth-of-field kernel's NumPy reference (`mobilekit.shaders.reference`), the
arithmetic the Swift/Metal kernel in `swift_shaders/` is tested against, so the app's effect
matches this one."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.data.image_io import check_outputs, load_photo, resize_rgb, write_png
from mobilekit.data.images import pixel_in_image
from mobilekit.shaders.reference import depth_of_field

FOCUS_PATTERN = re.compile(r"^\s*([0-9]+)\s*,\s*([0-9]+)\s*$", re.ASCII)
IMAGE_SUFFIXES = (".png",)
_MAX_DIGITS = 12
MAX_MILLIMETRES = 65535  # the 16-bit PNG's ceiling (65.535 m); 0 is never written: it means "invalid"


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _coordinate(digits: str) -> int:
    stripped = digits.lstrip("0") or "0"
    return int(stripped) if len(stripped) <= _MAX_DIGITS else 10 ** _MAX_DIGITS


def parse_focus(text: str, width: int, height: int) -> tuple[int, int]:
    """'x,y' in pixels of the photo as displayed (after its EXIF orientation) -> (y, x)."""
    match = FOCUS_PATTERN.match(text)
    if not match:
        raise InputError(f"malformed --focus {_shown(text)}: expected x,y with integer pixel coordinates, e.g. 120,80")
    return pixel_in_image(_coordinate(match.group(1)), _coordinate(match.group(2)), width, height, f"--focus {_shown(text)}")


def output_paths(out: Path) -> tuple[Path, Path]:
    """(colourised map, 16-bit millimetres): the latter beside `out` as `<stem>.depth16.png`."""
    return out, out.with_name(f"{out.stem}.depth16.png")


def _as_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else np.asarray(image, np.float32)


def estimate_depth(predictor, image: np.ndarray) -> np.ndarray:
    """Depth in metres (H, W) at the photo's resolution (uint8 RGB, or float RGB in [0, 1] for
    16-bit photos): model at its input size, then bilinear resampling of the depth back up."""
    from PIL import Image

    height, width = image.shape[:2]
    small = resize_rgb(image, predictor.width, predictor.height)
    depth = np.asarray(predictor.predict({"image": small[None]})["depth"][0, ..., 0], np.float32)
    if not np.isfinite(depth).all():
        raise InputError(f"the model produced non-finite values (NaN/Inf) in its depth on this photo (runner "
                         f"{getattr(predictor, 'runner', '?')}); nothing was written")
    return np.asarray(Image.fromarray(np.ascontiguousarray(depth)).resize((width, height), Image.BILINEAR), np.float32)


def millimetres(depth: np.ndarray) -> np.ndarray:
    """uint16 millimetres for the depth PNG: rounded, within 1..65535 (0 means invalid there)."""
    return np.clip(np.rint(depth.astype(np.float64) * 1000.0), 1, MAX_MILLIMETRES).astype(np.uint16)


def colourise(depth: np.ndarray) -> np.ndarray:
    """uint8 RGB: near warm, far cool (turbo colour map over the 2nd–98th percentile of 1/depth)."""
    from matplotlib import colormaps

    inverse = 1.0 / np.maximum(depth, 1e-3)
    lo, hi = np.percentile(inverse, [2, 98])
    scaled = np.clip((inverse - lo) / max(hi - lo, 1e-6), 0, 1)
    return (colormaps["turbo"](scaled)[..., :3] * 255).astype(np.uint8)


def bokeh(image: np.ndarray, depth: np.ndarray, focus: tuple[int, int], strength: float | None, max_radius: int) -> tuple[np.ndarray, float, float]:
    """(blurred uint8 RGB, focal depth, strength in px per metre). Default strength: the full
    `max_radius` is reached at the 90th percentile of |depth − focal depth|."""
    focal = float(depth[focus])
    if strength is None:
        spread = float(np.percentile(np.abs(depth - focal), 90))
        strength = max_radius / max(spread, 1e-3)
    blurred = depth_of_field(_as_float(image), depth, focal, strength, max_radius)
    return np.clip(np.rint(blurred * 255.0), 0, 255).astype(np.uint8), focal, float(strength)


def predict_depth(load_predictor: Callable[[], Any], image_path: Path, out: Path, *, focus: str | None = None,
                  bokeh_out: Path | None = None, strength: float | None = None, max_radius: int = 12) -> dict[str, Any]:
    """Write `out` (colourised depth), `<out stem>.depth16.png` (uint16 millimetres) and, with
    `focus`, the bokeh image; every argument (output paths first, then the photo, the tap and the
    effect's settings) is checked before the model is loaded, and each file is written atomically."""
    image_path, out = Path(image_path), Path(out)
    colour_path, depth16_path = output_paths(out)
    outputs = [("--out", colour_path), ("--out's 16-bit depth", depth16_path)]
    if bokeh_out is not None:
        bokeh_out = Path(bokeh_out)
        outputs.append(("--bokeh", bokeh_out))
    if (focus is None) != (bokeh_out is None):
        raise InputError("--focus and --bokeh go together: the tap picks the focal depth, --bokeh names the output")
    check_outputs(outputs, {"--image": image_path}, IMAGE_SUFFIXES, "a lossless PNG; the 16-bit depth stays exact")
    if max_radius < 0 or max_radius > 64:
        raise InputError(f"--max-radius must be in 0..64 px, got {max_radius}")
    if strength is not None and not strength > 0:
        raise InputError(f"--strength must be > 0 px per metre, got {strength}")
    photo = load_photo(image_path, "--image")
    tap = parse_focus(focus, photo.width, photo.height) if focus is not None else None
    predictor = load_predictor()
    depth = estimate_depth(predictor, photo.pixels)
    write_png(colour_path, colourise(depth))
    write_png(depth16_path, millimetres(depth))
    summary = {"depth": str(colour_path), "depth16": str(depth16_path), "runner": predictor.runner,
               "depth_range_m": [float(depth.min()), float(depth.max())],
               "image_size": [photo.width, photo.height], "exif_orientation": photo.orientation}
    if tap is not None:
        blurred, focal, used = bokeh(photo.pixels, depth, tap, strength, max_radius)
        write_png(bokeh_out, blurred)
        summary.update(bokeh=str(bokeh_out), focal_depth_m=focal, strength_px_per_m=used, max_radius=max_radius)
    return summary
