"""Interactive selection on a real photo: parse clicks, run the model (any artifact the predict
pipeline loaded: reference, LiteRT, Core ML / MIL executor) at its input size, and write the
mask and an overlay at the photo's resolution."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.data.image_io import check_outputs, load_photo, resize_rgb, write_png
from mobilekit.data.images import pixel_in_image
from mobilekit.families.segmentation.clicks import Click, encoded_clicks

CLICK_PATTERN = re.compile(r"^\s*([0-9]+)\s*,\s*([0-9]+)\s*(?:,\s*([+-]))?\s*$", re.ASCII)
OUT_SUFFIXES = (".png",)
_MAX_DIGITS = 12  # longer coordinates are far outside any image (and int() of thousands of digits is refused)


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def coordinate(digits: str) -> int:
    """An ASCII decimal coordinate; absurdly long ones become a value outside every image."""
    stripped = digits.lstrip("0") or "0"
    return int(stripped) if len(stripped) <= _MAX_DIGITS else 10 ** _MAX_DIGITS


def predict_mask(predict: Callable[[dict], dict], image: np.ndarray, clicks: list[Click]) -> np.ndarray:
    """Probability mask (H, W) for one float image in [0, 1] and a click list."""
    height, width = image.shape[:2]
    return predict({"image": image[None], "clicks": encoded_clicks(clicks, height, width)[None]})["mask"][0, ..., 0]


def parse_click(text: str, width: int, height: int) -> Click:
    """'x,y' or 'x,y,+' (positive) / 'x,y,-' (negative), in pixels of the input image as displayed
    (after its EXIF orientation)."""
    match = CLICK_PATTERN.match(text)
    if not match:
        raise InputError(f"malformed click {_shown(text)}: expected x,y[,+|-] with integer pixel coordinates, e.g. 120,80 or 40,30,-")
    y, x = pixel_in_image(coordinate(match.group(1)), coordinate(match.group(2)), width, height, f"click {_shown(text)}")
    return Click(y=y, x=x, positive=match.group(3) != "-")


def bilinear_upsample(prob: np.ndarray, photo: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(np.ascontiguousarray(prob)).resize(photo.shape[1::-1], Image.BILINEAR), np.float32)


def _guided(prob: np.ndarray, photo: np.ndarray) -> np.ndarray:
    from mobilekit.families.segmentation.upsample import guided_upsample

    return guided_upsample(prob, photo)


# how the mask returns from the model's input size to the photo's: `--upsample`
UPSAMPLERS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {"guided": _guided, "bilinear": bilinear_upsample}
DEFAULT_UPSAMPLE = "guided"


def select_object(predictor, image: np.ndarray, clicks: list[Click], upsample: str = DEFAULT_UPSAMPLE) -> np.ndarray:
    """Probability mask at the photo's resolution: the photo (uint8 RGB, or float RGB in [0, 1]
    for 16-bit photos) is resized to the model's input, clicks are scaled with it, and the mask is
    brought back by `UPSAMPLERS[upsample]` (default: a guided filter on the photo, edge-aware)."""
    height, width = image.shape[:2]
    small = resize_rgb(image, predictor.width, predictor.height)
    sy, sx = predictor.height / height, predictor.width / width
    scaled = [Click(y=min(int(c.y * sy), predictor.height - 1), x=min(int(c.x * sx), predictor.width - 1), positive=c.positive) for c in clicks]
    prob = np.asarray(predict_mask(predictor.predict, small, scaled), np.float32)
    if not np.isfinite(prob).all():
        raise InputError(f"the model produced non-finite values (NaN/Inf) in its mask on this photo (runner "
                         f"{getattr(predictor, 'runner', '?')}); nothing was written")
    return UPSAMPLERS[upsample](prob, image)


def overlay(image: np.ndarray, prob: np.ndarray, clicks: list[Click]) -> np.ndarray:
    """Selected pixels tinted, the rest dimmed; positive clicks green, negative red."""
    mask = (prob > 0.5)[..., None]
    tint = np.array([30, 144, 255], np.float32)
    out = np.where(mask, 0.55 * image + 0.45 * tint, 0.6 * image).astype(np.float32)
    r = max(2, min(image.shape[:2]) // 100)
    for c in clicks:
        out[max(0, c.y - r): c.y + r + 1, max(0, c.x - r): c.x + r + 1] = (0, 220, 0) if c.positive else (230, 0, 0)
    return np.clip(out, 0, 255).astype(np.uint8)


def mask_pixels(prob: np.ndarray, soft: bool) -> np.ndarray:
    """What the mask PNG holds: 0/255 uint8 (probability > 0.5), or with `soft` the probability
    as uint16 (0..65535 = 0..1, read back with `/ 65535`)."""
    if soft:
        return np.rint(np.clip(prob, 0.0, 1.0) * 65535.0).astype(np.uint16)
    return ((prob > 0.5) * 255).astype(np.uint8)


def output_paths(out: Path) -> tuple[Path, Path]:
    """(mask, overlay): the overlay goes beside the mask as `<stem>.overlay.png`."""
    return out, out.with_name(f"{out.stem}.overlay.png")


def predict_segmentation(load_predictor, image_path: Path, click_texts: list[str], out: Path, *,
                         soft: bool = False, upsample: str = DEFAULT_UPSAMPLE) -> dict:
    """Write `out` (mask PNG: 0/255, or 16-bit probabilities with `soft`) and
    `<out stem>.overlay.png`; return a summary. The output paths, the photo and the clicks are
    checked before `load_predictor()` loads the model (it returns an object with `.height`,
    `.width`, `.runner` and `.predict(inputs) -> outputs`); both files are written atomically."""
    image_path, out = Path(image_path), Path(out)
    mask_path, overlay_path = output_paths(out)
    check_outputs([("--out", mask_path), ("--out's overlay", overlay_path)], {"--image": image_path},
                  OUT_SUFFIXES, "a lossless PNG mask")
    if not click_texts:
        raise InputError("at least one --click is needed (x,y[,+|-])")
    if upsample not in UPSAMPLERS:
        raise InputError(f"--upsample: {_shown(upsample)} is not one of {', '.join(UPSAMPLERS)}")
    photo = load_photo(image_path, "--image")
    clicks = [parse_click(t, photo.width, photo.height) for t in click_texts]
    predictor = load_predictor()
    prob = select_object(predictor, photo.pixels, clicks, upsample)
    write_png(mask_path, mask_pixels(prob, soft))
    write_png(overlay_path, overlay(photo.as_uint8(), prob, clicks))
    return {"mask": str(mask_path), "overlay": str(overlay_path), "runner": predictor.runner,
            "selected_fraction": float((prob > 0.5).mean()), "clicks": len(clicks), "soft": soft, "upsample": upsample,
            "image_size": [photo.width, photo.height], "exif_orientation": photo.orientation}
