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
from mobilekit.data.images import load_rgb, pixel_in_image
from mobilekit.shaders.reference import depth_of_field

FOCUS_PATTERN = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*$")
IMAGE_SUFFIXES = (".png",)


def parse_focus(text: str, width: int, height: int) -> tuple[int, int]:
    """'x,y' in pixels of the photo -> (y, x)."""
    match = FOCUS_PATTERN.match(text)
    if not match:
        raise InputError(f"malformed --focus {text!r}: expected x,y with integer pixel coordinates, e.g. 120,80")
    return pixel_in_image(int(match.group(1)), int(match.group(2)), width, height, f"--focus {text!r}")


def _check_out(path: Path, flag: str) -> None:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"{flag} {path}: the file name must end in .png (lossless, keeps the 16-bit depth exact)")
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a directory; give a file name ending in .png")


def estimate_depth(predictor, image: np.ndarray) -> np.ndarray:
    """Depth in metres (H, W) at the photo's resolution: model at its input size, then bilinear
    resampling of the depth back up."""
    from PIL import Image

    height, width = image.shape[:2]
    small = np.asarray(Image.fromarray(image).resize((predictor.width, predictor.height), Image.BILINEAR), np.float32) / 255.0
    depth = predictor.predict({"image": small[None]})["depth"][0, ..., 0].astype(np.float32)
    return np.asarray(Image.fromarray(depth, mode="F").resize((width, height), Image.BILINEAR), np.float32)


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
    blurred = depth_of_field(image.astype(np.float32) / 255.0, depth, focal, strength, max_radius)
    return np.clip(np.rint(blurred * 255.0), 0, 255).astype(np.uint8), focal, float(strength)


def predict_depth(load_predictor: Callable[[], Any], image_path: Path, out: Path, *, focus: str | None = None,
                  bokeh_out: Path | None = None, strength: float | None = None, max_radius: int = 12) -> dict[str, Any]:
    """Write `out` (colourised depth), `<out stem>.depth16.png` (uint16 millimetres) and, with
    `focus`, the bokeh image; all arguments are checked before the model is loaded."""
    from PIL import Image

    image = load_rgb(image_path)
    _check_out(out, "--out")
    if (focus is None) != (bokeh_out is None):
        raise InputError("--focus and --bokeh go together: the tap picks the focal depth, --bokeh names the output")
    tap = parse_focus(focus, image.shape[1], image.shape[0]) if focus is not None else None
    if bokeh_out is not None:
        _check_out(bokeh_out, "--bokeh")
    if max_radius < 0 or max_radius > 64:
        raise InputError(f"--max-radius must be in 0..64 px, got {max_radius}")
    if strength is not None and not strength > 0:
        raise InputError(f"--strength must be > 0 px per metre, got {strength}")
    for path in (out, bokeh_out):
        if path is not None and path.resolve() == image_path.resolve():
            raise InputError(f"{path}: would overwrite the input photo")
    predictor = load_predictor()
    depth = estimate_depth(predictor, image)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(colourise(depth)).save(out)
    depth16 = out.with_name(f"{out.stem}.depth16.png")
    Image.fromarray(np.clip(np.rint(depth * 1000.0), 0, 65535).astype(np.uint16)).save(depth16)
    summary = {"depth": str(out), "depth16": str(depth16), "runner": predictor.runner,
               "depth_range_m": [float(depth.min()), float(depth.max())]}
    if tap is not None:
        blurred, focal, used = bokeh(image, depth, tap, strength, max_radius)
        bokeh_out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(blurred).save(bokeh_out)
        summary.update(bokeh=str(bokeh_out), focal_depth_m=focal, strength_px_per_m=used, max_radius=max_radius)
    return summary
