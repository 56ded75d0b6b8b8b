"""Interactive selection on a real photo: parse clicks, run the model (any artifact the predict
pipeline loaded: reference, LiteRT, Core ML / MIL executor) at its input size, and write the
mask and an overlay at the photo's resolution."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.data.images import load_rgb, pixel_in_image
from mobilekit.families.segmentation.clicks import Click, encoded_clicks

CLICK_PATTERN = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([+-]))?\s*$")


def predict_mask(predict: Callable[[dict], dict], image: np.ndarray, clicks: list[Click]) -> np.ndarray:
    """Probability mask (H, W) for one float image in [0, 1] and a click list."""
    height, width = image.shape[:2]
    return predict({"image": image[None], "clicks": encoded_clicks(clicks, height, width)[None]})["mask"][0, ..., 0]


def parse_click(text: str, width: int, height: int) -> Click:
    """'x,y' or 'x,y,+' (positive) / 'x,y,-' (negative), in pixels of the input image."""
    match = CLICK_PATTERN.match(text)
    if not match:
        raise InputError(f"malformed click {text!r}: expected x,y[,+|-] with integer pixel coordinates, e.g. 120,80 or 40,30,-")
    y, x = pixel_in_image(int(match.group(1)), int(match.group(2)), width, height, f"click {text!r}")
    return Click(y=y, x=x, positive=match.group(3) != "-")


def select_object(predictor, image: np.ndarray, clicks: list[Click]) -> np.ndarray:
    """Probability mask at the photo's resolution: the photo is resized to the model's input,
    clicks are scaled with it, the mask is resized back (bilinear)."""
    from PIL import Image

    height, width = image.shape[:2]
    small = np.asarray(Image.fromarray(image).resize((predictor.width, predictor.height), Image.BILINEAR), np.float32) / 255.0
    sy, sx = predictor.height / height, predictor.width / width
    scaled = [Click(y=min(int(c.y * sy), predictor.height - 1), x=min(int(c.x * sx), predictor.width - 1), positive=c.positive) for c in clicks]
    prob = predict_mask(predictor.predict, small, scaled)
    return np.asarray(Image.fromarray(prob.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR))


def overlay(image: np.ndarray, prob: np.ndarray, clicks: list[Click]) -> np.ndarray:
    """Selected pixels tinted, the rest dimmed; positive clicks green, negative red."""
    mask = (prob > 0.5)[..., None]
    tint = np.array([30, 144, 255], np.float32)
    out = np.where(mask, 0.55 * image + 0.45 * tint, 0.6 * image).astype(np.float32)
    r = max(2, min(image.shape[:2]) // 100)
    for c in clicks:
        out[max(0, c.y - r): c.y + r + 1, max(0, c.x - r): c.x + r + 1] = (0, 220, 0) if c.positive else (230, 0, 0)
    return np.clip(out, 0, 255).astype(np.uint8)


def predict_segmentation(load_predictor, image_path: Path, click_texts: list[str], out: Path) -> dict:
    """Write `out` (mask PNG, 0/255) and `<out stem>.overlay.png`; return a summary. The arguments
    are checked before `load_predictor()` loads the model (it returns an object with `.height`,
    `.width`, `.runner` and `.predict(inputs) -> outputs`)."""
    from PIL import Image

    if not click_texts:
        raise InputError("at least one --click is needed (x,y[,+|-])")
    image = load_rgb(image_path)
    clicks = [parse_click(t, image.shape[1], image.shape[0]) for t in click_texts]
    predictor = load_predictor()
    prob = select_object(predictor, image, clicks)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(((prob > 0.5) * 255).astype(np.uint8), mode="L").save(out)
    overlay_path = out.with_name(f"{out.stem}.overlay.png")
    Image.fromarray(overlay(image, prob, clicks)).save(overlay_path)
    return {"mask": str(out), "overlay": str(overlay_path), "runner": predictor.runner,
            "selected_fraction": float((prob > 0.5).mean()), "clicks": len(clicks)}
