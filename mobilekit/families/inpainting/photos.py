"""The image-folder source: any folder of photos is training data (the hole is drawn, the photo is
its own target). Photos are split 80/10/10 by file, so held-out crops come from photos training
never saw; each sample is a random square-ish crop resized to the model's input size."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from mobilekit.core.errors import InputError

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg")
MIN_CROP_FRACTION = 0.35  # of the photo's shorter side
WORKING_SIDE = 1024  # photos are decoded once and kept at most this large on their shorter side


def list_photos(root: Path) -> list[Path]:
    if not root.is_dir():
        raise InputError(f"inpainting.folders.root: {root} is not a folder")
    photos = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not photos:
        raise InputError(f"inpainting.folders.root: no photos ({', '.join(PHOTO_SUFFIXES)}) under {root}")
    return photos


def split_photos(photos: list[Path], split: str) -> list[Path]:
    """Deterministic 80/10/10 by file, at least one photo per split (with fewer than 3 photos the
    held-out splits share photos with training: give the folder more photos)."""
    order = [photos[i] for i in np.random.default_rng(0).permutation(len(photos))]
    n = len(order)
    val, parity = max(1, n // 10), max(1, n // 10)
    train = order[:max(1, n - val - parity)]
    rest = order[len(train):] or order[-1:]
    return {"train": train, "val": rest[:val] or rest[-1:], "parity": rest[val:val + parity] or rest[-1:]}[split]


@lru_cache(maxsize=24)
def _decoded(path: Path) -> np.ndarray:
    from PIL import Image

    from mobilekit.data.image_io import read_rgb8

    pixels = read_rgb8(path, "inpainting.folders photo")
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


def photo_crops(root: Path, split: str, rng: np.random.Generator, size: tuple[int, int]) -> Iterator[np.ndarray]:
    photos = split_photos(list_photos(Path(root)), split)
    while True:
        yield random_crop(rng, _decoded(photos[int(rng.integers(len(photos)))]), size)


SYNTHETIC_SHARE = 0.5  # of training samples from `sample-photos`: the real photos are few, scenes add colour variety


def sample_photo_crops(split: str, rng: np.random.Generator, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """Crops of the real photos installed packages ship (`mobilekit.data.sample_photos`): training
    from `TRAINING` photos mixed with synthetic scenes, val/parity from `HELD_OUT` photos only."""
    from mobilekit.data.sample_photos import HELD_OUT, TRAINING, sample_photo_path
    from mobilekit.families.inpainting.synthetic import synthetic_photo

    photos = [sample_photo_path(n) for n in (TRAINING if split == "train" else HELD_OUT)]
    while True:
        if split == "train" and rng.random() < SYNTHETIC_SHARE:
            yield synthetic_photo(rng, *size)
        else:
            yield random_crop(rng, _decoded(photos[int(rng.integers(len(photos)))]), size)
