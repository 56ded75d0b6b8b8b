"""The image-folder source: any folder of photos is training data (the hole is drawn, the photo is
its own target). Photos are split 80/10/10 by file, so held-out crops come from photos training
never saw; each sample is a random square-ish crop resized to the model's input size."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from mobilekit.data.photo_crops import decoded_photo, list_photos, random_crop, split_by_file


def photo_crops(root: Path, split: str, rng: np.random.Generator, size: tuple[int, int]) -> Iterator[np.ndarray]:
    photos = split_by_file(list_photos(Path(root), "inpainting.folders.root"), split)
    while True:
        yield random_crop(rng, decoded_photo(photos[int(rng.integers(len(photos)))], "inpainting.folders photo"), size)


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
            yield random_crop(rng, decoded_photo(photos[int(rng.integers(len(photos)))], "inpainting.folders photo"), size)
