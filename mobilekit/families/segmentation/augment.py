"""Training augmentation for segmentation samples: the same geometry for image and masks.

One random affine map per call (crop -> resize to `out_size`, horizontal flip, rotation about the
crop centre) is applied to the image (bilinear, box-prefiltered when shrinking a lot) and to every
mask (nearest neighbour), so they stay pixel-aligned. Exposure (gain) and gamma touch the image
only. Areas rotated in from outside the image are black in the image and background in the masks.
Sizes are (height, width). Pure NumPy + Pillow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.samples import SegSample

_MAX_TRIES = 10  # geometry draws before falling back to the uncropped, unrotated image


@dataclass(frozen=True)
class Augmentation:
    crop_scale: tuple[float, float] = (0.7, 1.0)  # crop side as a fraction of the image side
    flip: bool = True  # horizontal flip with probability 1/2
    max_rotation_deg: float = 15.0  # rotation drawn uniformly in [-max, max]
    exposure: tuple[float, float] = (0.75, 1.3)  # gain on intensities, drawn uniformly
    gamma: tuple[float, float] = (0.85, 1.15)  # out = in ** gamma on [0, 1], drawn uniformly

    def __post_init__(self) -> None:
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise InputError(f"Augmentation.crop_scale must satisfy 0 < lo <= hi <= 1, got {self.crop_scale}")
        if self.max_rotation_deg < 0:
            raise InputError(f"Augmentation.max_rotation_deg must be >= 0, got {self.max_rotation_deg}")
        for name in ("exposure", "gamma"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise InputError(f"Augmentation.{name} must satisfy 0 < lo <= hi, got {getattr(self, name)}")


def _check_size(out_size: tuple[int, int]) -> tuple[int, int]:
    if len(out_size) != 2 or int(out_size[0]) <= 0 or int(out_size[1]) <= 0:
        raise InputError(f"out_size must be (height, width) with positive values, got {out_size}")
    return int(out_size[0]), int(out_size[1])


def _warp_mask(mask: np.ndarray, coeffs, out_hw: tuple[int, int]) -> np.ndarray:
    im = Image.fromarray(mask.astype(np.uint8))
    out = im.transform((out_hw[1], out_hw[0]), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.NEAREST)
    return np.asarray(out) > 0


def _warp_image(image: np.ndarray, coeffs, out_hw: tuple[int, int], shrink: float) -> np.ndarray:
    im = Image.fromarray(image)
    k = int(shrink)
    if k >= 2:  # box-filter first: bilinear sampling alone would alias when shrinking a lot
        im = im.reduce(k)
        coeffs = tuple(c / k for c in coeffs)
    out = im.transform((out_hw[1], out_hw[0]), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)
    return np.asarray(out)


def _affine(cy, cx, ch, cw, theta, flip, out_hw):
    """PIL affine coefficients mapping output pixel coords (u=x, v=y, pixel-area convention) to
    source coords: the output rectangle covers the (ch x cw) crop centred at (cy, cx), flipped
    horizontally if asked, rotated by theta about its centre."""
    oh, ow = out_hw
    sx, sy = cw / ow * (-1.0 if flip else 1.0), ch / oh
    cos, sin = math.cos(theta), math.sin(theta)
    a, b = cos * sx, -sin * sy
    d, e = sin * sx, cos * sy
    c = cx - a * ow / 2 - b * oh / 2
    f = cy - d * ow / 2 - e * oh / 2
    return (a, b, c, d, e, f)


def augment(sample: SegSample, rng: np.random.Generator, aug: Augmentation, out_size: tuple[int, int]) -> SegSample:
    """A randomly augmented copy of `sample` of size `out_size` (height, width).

    The geometry is redrawn (up to 10 times) until the target keeps at least one pixel, then falls
    back to the whole image without rotation. `others` that leave the frame are dropped.
    Deterministic for a given rng state.
    """
    out_hw = _check_size(out_size)
    h, w = sample.size
    flip = bool(aug.flip and rng.random() < 0.5)
    target = None
    for _ in range(_MAX_TRIES):
        s = rng.uniform(*aug.crop_scale)
        ch, cw = s * h, s * w
        cy, cx = rng.uniform(0, h - ch) + ch / 2, rng.uniform(0, w - cw) + cw / 2
        theta = math.radians(rng.uniform(-aug.max_rotation_deg, aug.max_rotation_deg))
        coeffs = _affine(cy, cx, ch, cw, theta, flip, out_hw)
        target = _warp_mask(sample.target, coeffs, out_hw)
        if target.any():
            break
    else:
        ch, cw = float(h), float(w)
        coeffs = _affine(h / 2, w / 2, ch, cw, 0.0, flip, out_hw)
        target = _warp_mask(sample.target, coeffs, out_hw)
    shrink = min(ch / out_hw[0], cw / out_hw[1])
    image = _warp_image(sample.image, coeffs, out_hw, shrink)
    others = [m for m in (_warp_mask(o, coeffs, out_hw) for o in sample.others) if m.any()]

    gain = rng.uniform(*aug.exposure)
    gamma = rng.uniform(*aug.gamma)
    lut = np.clip(255.0 * gain * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return SegSample(image=lut[image], target=target, others=others)


def resize_sample(sample: SegSample, out_size: tuple[int, int]) -> SegSample:
    """`sample` resized to `out_size` (height, width): image bilinear (antialiased), masks nearest."""
    oh, ow = _check_size(out_size)
    if sample.size == (oh, ow):
        return SegSample(image=sample.image.copy(), target=sample.target.copy(), others=[o.copy() for o in sample.others])
    image = np.asarray(Image.fromarray(sample.image).resize((ow, oh), Image.Resampling.BILINEAR))

    def nearest(m: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(m.astype(np.uint8)).resize((ow, oh), Image.Resampling.NEAREST)) > 0

    return SegSample(image=image.copy(), target=nearest(sample.target), others=[nearest(o) for o in sample.others])
