"""Object removal on a user's photo: check the mask, then run a high-resolution strategy
(`highres.py`) around the model, and write the result. Pixels outside the mask are the photo's,
bit for bit.

The converted models have a fixed input size (the model's own resolution); a strategy that asks
for another working size (two-step's second step, IOPaint's crop at crop size, resize at 1280 px)
gets the model on that image resized to the model's size, refined on model-sized windows at native
resolution where a window has enough known pixels (`model_inpaint`): what an app with a fixed-size
Core ML / TFLite model can do. Every strategy gets the same function."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.data.image_io import check_outputs, decode_image, load_photo, write_png

IMAGE_SUFFIXES = (".png",)


def _resized(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 (H, W, C) resized to `size` (h, w) channel by channel: area (box) down, bicubic up."""
    from PIL import Image

    h, w = size
    method = Image.BOX if h <= x.shape[0] and w <= x.shape[1] else Image.BICUBIC
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(x[..., c], np.float32)).resize((w, h), method), np.float32)
                     for c in range(x.shape[2])], axis=2)


TILE_OVERLAP = 0.25  # of the model's size, between neighbouring windows
MAX_TILE_HOLE = 0.5  # windows with more hole than this keep the whole-image result (too little context)


def _windows(length: int, window: int) -> list[int]:
    """Start offsets of windows of `window` px covering `length` px with `TILE_OVERLAP` overlap."""
    if length <= window:
        return [0]
    step = max(1, int(window * (1 - TILE_OVERLAP)))
    starts = list(range(0, length - window, step))
    return starts + [length - window]


def model_inpaint(predictor) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """An `InpaintFn` over a fixed-size predictor. At the model's size: one call. Otherwise the
    model runs on the whole image resized to its size (area down, bicubic up; the result resized
    back), and, where the image is larger than the model, then again at native resolution on
    overlapping model-sized windows whose hole share is at most `MAX_TILE_HOLE` (each window sees
    the pixels earlier windows filled as known), so hole borders and thin holes get the model's
    full resolution while wide interiors keep the whole-image result."""
    size = (predictor.height, predictor.width)

    def run(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        out = predictor.predict({"image": image[None].astype(np.float32), "mask": hole[None, ..., None].astype(np.float32)})
        filled = np.asarray(out["inpainted"][0], np.float32)
        if not np.isfinite(filled).all():
            raise InputError(f"the model produced non-finite values (NaN/Inf) on this photo (runner {predictor.runner}); nothing was written")
        return filled

    def inpaint(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
        shape = image.shape[:2]
        if shape == size:
            return np.where(hole[..., None] > 0.5, run(image, hole), image)
        small_hole = (_resized(hole[..., None].astype(np.float32), size)[..., 0] > 0.0).astype(np.float32)
        filled = np.clip(_resized(run(np.clip(_resized(image, size), 0.0, 1.0), small_hole), shape), 0.0, 1.0)
        result = np.where(hole[..., None] > 0.5, filled, image)
        if shape[0] < size[0] or shape[1] < size[1]:
            return result
        remaining = hole > 0.5
        for y in _windows(shape[0], size[0]):
            for x in _windows(shape[1], size[1]):
                window = (slice(y, y + size[0]), slice(x, x + size[1]))
                todo = remaining[window]
                if not todo.any() or todo.mean() > MAX_TILE_HOLE:
                    continue
                tile = result[window].copy()
                result[window] = np.where(todo[..., None], run(tile, todo.astype(np.float32)), tile)
                remaining[window] = False
        return result

    return inpaint


def load_mask(path: Path, image_shape: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
    """The user's mask (a lossless PNG, white = remove) as bool (H, W), checked against the photo."""
    from mobilekit.families.inpainting.highres import check_mask

    im = decode_image(path, "--mask", lossless=True).image
    if im.mode.startswith("I"):  # 16-bit grayscale: scaled to [0, 1], not clipped
        values = np.asarray(im, np.float64) / 65535.0
    else:
        values = np.asarray(im.convert("L"))
        if im.mode in ("RGBA", "LA", "PA") and not values.any():
            values = np.asarray(im.getchannel("A"))  # a black image whose alpha marks the hole
    return check_mask(values, image_shape, str(path))


def predict_inpaint(load_predictor: Callable[[], Any], image_path: Path, mask_path: Path, out: Path, *,
                    strategy: str = "both") -> dict[str, Any]:
    """Remove what `mask_path` marks from `image_path` and write `out` (PNG). Every argument is
    checked before the model is loaded; an empty mask writes the photo unchanged."""
    from mobilekit.families.inpainting.highres import STRATEGIES, remove_object

    image_path, mask_path, out = Path(image_path), Path(mask_path), Path(out)
    if strategy not in STRATEGIES:
        raise InputError(f"--highres {strategy!r} is not a strategy; accepted: {', '.join(STRATEGIES.names())}")
    check_outputs([("--out", out)], {"--image": image_path, "--mask": mask_path}, IMAGE_SUFFIXES,
                  "a lossless PNG; pixels outside the mask stay bit-identical")
    photo = load_photo(image_path, "--image")
    pixels = np.array(photo.as_uint8(), dtype=np.uint8)
    hole, notes = load_mask(mask_path, pixels.shape)
    summary: dict[str, Any] = {"out": str(out), "image_size": [photo.width, photo.height], "strategy": strategy,
                               "hole_ratio": float(hole.mean()), "notes": notes}
    if not hole.any():
        write_png(out, pixels)
        return {**summary, "runner": None}
    predictor = load_predictor()
    result = remove_object(pixels, hole, model_inpaint(predictor), strategy=strategy,
                           model_size=(predictor.height, predictor.width))
    write_png(out, result)
    return {**summary, "runner": predictor.runner, "model_size": [predictor.height, predictor.width]}
