"""Folder-dataset plumbing and the photo helpers every family's predict pipeline shares. Image
files themselves are read and written by `mobilekit.data.image_io` (validation, pixel limit, EXIF
orientation, bit depths, atomic writes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.core.errors import InputError


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def require_folders(root: Path, *names: str, what: str = "folder dataset") -> list[Path]:
    """`root/<name>` for each name; InputError naming the first missing one."""
    folders = [root / name for name in names]
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"{what} {root} needs a '{folder.name}/' folder: {folder} not found")
    return folders


def images_by_stem(folder: Path) -> dict[str, Path]:
    """The photos in `folder` by file stem (sorted); two files with one stem, or none at all, are errors."""
    images: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            if p.stem in images:
                raise InputError(f"two images share the stem '{p.stem}': {images[p.stem].name} and {p.name}")
            images[p.stem] = p
    if not images:
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return images


def load_rgb(path: Path, what: str = "image") -> np.ndarray:
    """uint8 RGB (H, W, 3) in displayed orientation; InputError for anything unreadable
    (`image_io.read_rgb8`)."""
    from mobilekit.data.image_io import read_rgb8

    return read_rgb8(path, what)


def pixel_in_image(x: int, y: int, width: int, height: int, what: str) -> tuple[int, int]:
    """(y, x) of a point a user gave in pixels of the photo as displayed (`image_io.load_photo`
    applies the EXIF orientation); InputError when it lies outside."""
    if not (0 <= x < width and 0 <= y < height):
        raise InputError(f"{what} is outside the image ({width}×{height} as displayed, EXIF orientation applied; "
                         f"x in 0..{width - 1}, y in 0..{height - 1})")
    return y, x
