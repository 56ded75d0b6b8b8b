"""Photos as training material: decoded once per process at a bounded working size, and random
crops of them at a model's input size (shared by the sources that train on folders of photos)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

MIN_CROP_FRACTION = 0.35  # of the photo's shorter side
WORKING_SIDE = 1024  # photos are decoded once and kept at most this large on their shorter side


@lru_cache(maxsize=24)
def decoded_photo(path: Path, what: str = "photo") -> np.ndarray:
    """RGB uint8, decoded once per process and kept at most WORKING_SIDE on its shorter side."""
    from PIL import Image

    from mobilekit.data.image_io import read_rgb8

    pixels = read_rgb8(path, what)
    h, w = pixels.shape[:2]
    scale = WORKING_SIDE / min(h, w)
    if scale < 1.0:
        pixels = np.asarray(Image.fromarray(pixels).resize((round(w * scale), round(h * scale)), Image.BILINEAR))
    return pixels


def random_crop(rng: np.random.Generator, pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A random crop with the output's aspect, at least `MIN_CROP_FRACTION` of the shorter side, resized to `size`."""
    from PIL import Image

    h, w = pixels.shape[:2]
    out_h, out_w = size
    side = rng.uniform(MIN_CROP_FRACTION, 1.0) * min(h / out_h, w / out_w)
    ch, cw = max(1, int(side * out_h)), max(1, int(side * out_w))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = pixels[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((out_w, out_h), Image.BICUBIC if ch < out_h else Image.BILINEAR))


PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg")


def list_photos(root: Path, field: str, suffixes: tuple[str, ...] = PHOTO_SUFFIXES) -> list[Path]:
    """Every file under `root` with one of `suffixes`, sorted; InputError naming the config `field`."""
    from mobilekit.core.errors import InputError

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{field}: {root} is not a folder")
    photos = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not photos:
        raise InputError(f"{field}: no files ({', '.join(suffixes)}) under {root}")
    return photos


def split_by_file(photos: list[Path], split: str) -> list[Path]:
    """Deterministic 80/10/10 by file, at least one file per split (with fewer than 3 files the
    held-out splits share files with training: give the folder more)."""
    order = [photos[i] for i in np.random.default_rng(0).permutation(len(photos))]
    n = len(order)
    val, parity = max(1, n // 10), max(1, n // 10)
    train = order[:max(1, n - val - parity)]
    rest = order[len(train):] or order[-1:]
    return {"train": train, "val": rest[:val] or rest[-1:], "parity": rest[val:val + parity] or rest[-1:]}[split]
