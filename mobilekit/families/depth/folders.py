"""A plain folder dataset -> depth samples (one per image).

Layout::

    root/images/<stem>.jpg | .jpeg | .png   RGB, read like a predict photo (`data/image_io.py`: EXIF
                                            orientation applied, 16-bit scaled, transparency on white)
    root/depth/<stem>.png                   16-bit single channel, millimetres; 0 = invalid (lossless PNG,
                                            values kept exactly)
    root/depth/<stem>.npy                   2-D float array, metres; non-finite or <= 0 = invalid
    root/valid/<stem>.png                   optional: nonzero = valid (combined with the depth's own validity)
    root/portrait/<stem>.png                optional: nonzero = person; without it has_portrait is False

Depth, validity and portrait PNGs are read in their displayed (EXIF) orientation, like the image.
Every image needs a depth file (PNG or NPY, not both); depth files without an image are ignored.
Invalid pixels get depth 0. 8-bit depth PNGs are refused: they cannot hold millimetres.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.data.image_io import decode_image, load_photo
from mobilekit.data.images import images_by_stem, require_folders
from mobilekit.families.depth.samples import DepthSample

DEPTH_SUFFIXES = (".png", ".npy")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass(frozen=True)
class _Pair:
    stem: str
    image: Path
    depth: Path
    valid: Path | None
    portrait: Path | None


def _pairs(root: Path) -> list[_Pair]:
    images_dir, depth_dir = require_folders(root, "images", "depth", what="depth folder dataset")
    images = images_by_stem(images_dir)
    pairs, missing = [], []
    for stem in sorted(images):
        found = [depth_dir / f"{stem}{suffix}" for suffix in DEPTH_SUFFIXES if (depth_dir / f"{stem}{suffix}").is_file()]
        if not found:
            missing.append(images[stem].name)
            continue
        if len(found) > 1:
            raise InputError(f"image {images[stem].name} has two depth files, keep one: {found[0]} and {found[1]}")
        valid, portrait = root / "valid" / f"{stem}.png", root / "portrait" / f"{stem}.png"
        pairs.append(_Pair(stem, images[stem], found[0], valid if valid.is_file() else None,
                           portrait if portrait.is_file() else None))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise InputError(
            f"{len(missing)} image(s) in {images_dir} have no depth ({'/'.join(DEPTH_SUFFIXES)}) in {depth_dir}: {shown}"
        )
    return pairs


def read_depth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(depth float32 metres with 0 where invalid, valid bool) from a millimetre PNG or a metre NPY."""
    if path.suffix.lower() == ".npy":
        try:
            raw = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read depth {path}: {exc}") from exc
        if raw.ndim == 3 and raw.shape[2] == 1:
            raw = raw[..., 0]
        if raw.ndim != 2 or not (np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)):
            raise InputError(f"depth {path} must be a 2-D numeric array (metres), got {raw.shape} {raw.dtype}")
        metres = raw.astype(np.float64)
    else:
        im = decode_image(path, "depth", lossless=True).image
        if im.mode not in _SIXTEEN_BIT_MODES:
            raise InputError(f"depth {path} must be a 16-bit single-channel PNG in millimetres, got mode {im.mode}")
        raw = np.asarray(im)
        metres = raw.astype(np.float64) / 1000.0
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(metres) & (metres > 0)
    depth = np.where(valid, metres, 0.0).astype(np.float32)
    return depth, valid & (depth > 0)  # a tiny positive metre value must not round to 0 in float32


def read_mask(path: Path) -> np.ndarray:
    """Bool (H, W) mask from a PNG: nonzero = True (any channel, alpha ignored)."""
    im = decode_image(path, "mask", lossless=True).image
    if im.mode in ("RGBA", "LA", "PA"):
        im = im.convert("RGB" if im.mode != "LA" else "L")
    arr = np.asarray(im)
    return arr.any(axis=2) if arr.ndim == 3 else arr != 0


def load_folder_pairs(root: Path) -> Iterator[DepthSample]:
    """One `DepthSample` per image, in stem order. Layout and pairing are checked when this is
    called; unreadable files and size mismatches raise InputError when their turn comes."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"depth folder dataset not found: {root}")
    return _iterate(_pairs(root))


def _iterate(pairs: list[_Pair]) -> Iterator[DepthSample]:
    for pair in pairs:
        photo = load_photo(pair.image, "image")
        image = np.array(photo.as_uint8(), dtype=np.uint8)
        depth, valid = read_depth(pair.depth)
        hw = image.shape[:2]
        _check_size(pair.image, hw, pair.depth, depth.shape, photo.orientation)
        if pair.valid is not None:
            extra = read_mask(pair.valid)
            _check_size(pair.image, hw, pair.valid, extra.shape, photo.orientation)
            valid &= extra
            depth[~valid] = 0.0
        if pair.portrait is not None:
            portrait = read_mask(pair.portrait)
            _check_size(pair.image, hw, pair.portrait, portrait.shape, photo.orientation)
        else:
            portrait = np.zeros(hw, bool)
        yield DepthSample(image=image, depth=depth, valid=valid, portrait=portrait, has_portrait=pair.portrait is not None)


def _check_size(image_path: Path, hw: tuple[int, ...], other_path: Path, other_hw: tuple[int, ...],
                orientation: int = 1) -> None:
    if tuple(other_hw) != tuple(hw):
        turned = f" after its EXIF orientation {orientation}" if orientation != 1 else ""
        raise InputError(
            f"{other_path} is {other_hw[0]}x{other_hw[1]} but image {image_path} is {hw[0]}x{hw[1]}{turned} (height x width)"
        )
