"""A plain folder dataset -> interactive-segmentation samples (one per object instance).

Layout::

    root/images/<stem>.jpg | .jpeg | .png     RGB, read like a predict photo (`data/image_io.py`: EXIF
                                              orientation applied, 16-bit scaled, transparency on white)
    root/masks/<stem>.png                     instance ids: 0 = background, each other value one object;
                                              lossless PNG only, values kept as stored, in the same
                                              displayed orientation as the image

A binary 0/255 (or 0/1) mask is one object. In an 8-bit mask that holds other ids besides 255,
255 is read as "void / don't care" (the PASCAL VOC SegmentationObject convention) and ignored.
Colour (RGB) masks: each distinct non-black colour is one object.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.data.image_io import decode_image, load_photo
from mobilekit.data.images import images_by_stem, require_folders
from mobilekit.families.segmentation.samples import SegSample

VOID_ID = 255


def _pairs(root: Path) -> list[tuple[str, Path, Path]]:
    images_dir, masks_dir = require_folders(root, "images", "masks")
    images = images_by_stem(images_dir)
    missing = [stem for stem in images if not (masks_dir / f"{stem}.png").is_file()]
    if missing:
        shown = ", ".join(f"{s}.png" for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise InputError(f"{len(missing)} image(s) in {images_dir} have no mask in {masks_dir}: {shown}")
    return [(stem, images[stem], masks_dir / f"{stem}.png") for stem in images]


def read_instance_mask(path: Path) -> np.ndarray:
    """Instance-id map (H, W) int64 from a mask PNG, 0 = background (void pixels become 0).
    Unreadable, truncated, non-PNG or oversized files raise InputError naming the file."""
    im = decode_image(path, "mask", lossless=True).image
    if im.mode in ("RGB", "RGBA", "LA"):
        arr = np.asarray(im.convert("RGB"))
        if (arr[..., 0] == arr[..., 1]).all() and (arr[..., 0] == arr[..., 2]).all():
            ids = arr[..., 0].astype(np.int64)
        else:  # colour-coded instances
            packed = (arr[..., 0].astype(np.int64) << 16) | (arr[..., 1].astype(np.int64) << 8) | arr[..., 2]
            _, ids = np.unique(packed, return_inverse=True)
            ids = ids.reshape(packed.shape)
            if not (packed == 0).any():
                ids = ids + 1
            return ids
    else:
        ids = np.asarray(im).astype(np.int64)  # '1', 'L', 'P' (palette indices), 'I;16', 'I'
    if ids.ndim != 2:
        raise InputError(f"mask {path} must be single-channel, got shape {ids.shape}")
    values = np.unique(ids)
    if VOID_ID in values and np.count_nonzero((values != 0) & (values != VOID_ID)):
        ids = np.where(ids == VOID_ID, 0, ids)
    return ids


def load_folder_samples(root: Path, max_samples: int | None = None) -> Iterator[SegSample]:
    """One `SegSample` per instance (images in stem order, instances in id order); `others` holds
    the image's other instances. Folder layout and image/mask pairing are checked when this is
    called; unreadable files and size mismatches raise InputError when their turn comes."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"folder dataset not found: {root}")
    if max_samples is not None and max_samples < 0:
        raise InputError(f"max_samples must be >= 0, got {max_samples}")
    return _iterate(_pairs(root), max_samples)


def _iterate(pairs: list[tuple[str, Path, Path]], max_samples: int | None) -> Iterator[SegSample]:
    emitted = 0
    if max_samples == 0:
        return
    for _stem, image_path, mask_path in pairs:
        ids = read_instance_mask(mask_path)
        instances = [int(v) for v in np.unique(ids) if v != 0]
        if not instances:
            continue
        photo = load_photo(image_path, "image")
        image = np.array(photo.as_uint8(), dtype=np.uint8)
        if image.shape[:2] != ids.shape:
            turned = f" after its EXIF orientation {photo.orientation}" if photo.orientation != 1 else ""
            raise InputError(
                f"mask {mask_path.name} is {ids.shape[0]}x{ids.shape[1]} but image {image_path.name} "
                f"is {image.shape[0]}x{image.shape[1]}{turned} (height x width; masks pair with the image as displayed)"
            )
        image.setflags(write=False)  # shared between the samples of this image
        masks = []
        for v in instances:
            m = ids == v
            m.setflags(write=False)
            masks.append(m)
        for i, target in enumerate(masks):
            yield SegSample(image=image, target=target, others=masks[:i] + masks[i + 1 :])
            emitted += 1
            if max_samples is not None and emitted >= max_samples:
                return
