"""Training augmentation and resizing for depth samples: one geometry for image, depth and masks.

Each call draws a horizontal flip (probability 1/2) and a zoom `s` in `scale`: the crop window has
the aspect of the output `size` (nothing is stretched), is 1/s of the largest such window that fits
the image, and sits at a random place. The image is resampled bilinearly (antialiased when
shrinking); depth, valid and portrait by nearest neighbour with the very same pixel mapping, so
depths are never blended across edges, every output depth is an input depth and invalid pixels stay
invalid. Depth values are not rescaled with the zoom. Brightness, contrast and saturation jitter
touch the image only. Sizes are (height, width). Pure NumPy + Pillow.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from mobilekit.core.errors import InputError
from mobilekit.families.depth.samples import DepthSample

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    if len(size) != 2 or int(size[0]) <= 0 or int(size[1]) <= 0:
        raise InputError(f"size must be (height, width) with positive values, got {size}")
    return int(size[0]), int(size[1])


def _nearest_index(start: float, extent: float, out: int, limit: int) -> np.ndarray:
    """Source index of each of `out` output pixels covering [start, start + extent) (pixel-area convention)."""
    centres = start + (np.arange(out, dtype=np.float64) + 0.5) * (extent / out)
    return np.clip(np.floor(centres).astype(np.int64), 0, limit - 1)


def _resample(sample: DepthSample, box: tuple[float, float, float, float], out_hw: tuple[int, int],
              flip: bool) -> DepthSample:
    """The crop `box` = (top, left, height, width) of `sample` resized to `out_hw`, mirrored if `flip`."""
    top, left, ch, cw = box
    oh, ow = out_hw
    image = np.asarray(Image.fromarray(sample.image).resize(
        (ow, oh), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch)))
    rows = _nearest_index(top, ch, oh, sample.size[0])
    cols = _nearest_index(left, cw, ow, sample.size[1])
    if flip:
        image, cols = image[:, ::-1], cols[::-1]
    pick = np.ix_(rows, cols)
    return DepthSample(image=np.ascontiguousarray(image), depth=sample.depth[pick], valid=sample.valid[pick],
                       portrait=sample.portrait[pick], has_portrait=sample.has_portrait)


def _photometric(image: np.ndarray, brightness: float, contrast: float, saturation: float) -> np.ndarray:
    if brightness == contrast == saturation == 1.0:
        return image
    x = image.astype(np.float32) * np.float32(brightness)
    mean = float((x @ _LUMA).mean())
    x = (x - mean) * np.float32(contrast) + np.float32(mean)
    luma = (x @ _LUMA)[..., None]
    x = (x - luma) * np.float32(saturation) + luma
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def augment_depth(
    sample: DepthSample,
    rng: np.random.Generator,
    size: tuple[int, int],
    *,
    flip: bool = True,
    scale: tuple[float, float] = (1.0, 1.3),
    jitter: float = 0.15,
) -> DepthSample:
    """A randomly flipped, zoomed and colour-jittered copy of `sample` of `size` (height, width).

    `jitter` is the largest relative change of brightness, contrast and saturation (each drawn
    uniformly in [1 - jitter, 1 + jitter]); the draws happen whatever its value, so for one rng state
    the geometry does not depend on it. Deterministic for a given rng state."""
    oh, ow = _check_size(size)
    lo, hi = scale
    if not 1.0 <= lo <= hi:
        raise InputError(f"scale must satisfy 1 <= lo <= hi (a zoom into the image), got {scale}")
    if not 0.0 <= jitter < 1.0:
        raise InputError(f"jitter must be in [0, 1), got {jitter}")
    h, w = sample.size
    mirrored = bool(rng.random() < 0.5) and flip
    fit = min(h / oh, w / ow) / rng.uniform(lo, hi)  # source pixels per output pixel
    ch, cw = min(oh * fit, float(h)), min(ow * fit, float(w))
    top, left = rng.uniform(0.0, h - ch), rng.uniform(0.0, w - cw)
    factors = rng.uniform(1.0 - jitter, 1.0 + jitter, 3)
    out = _resample(sample, (top, left, ch, cw), (oh, ow), mirrored)
    out.image = _photometric(out.image, *(float(v) for v in factors))
    return out


def resize_depth_sample(sample: DepthSample, size: tuple[int, int]) -> DepthSample:
    """`sample` resized to `size` (height, width), aspect not kept: image bilinear (antialiased),
    depth, valid and portrait nearest."""
    oh, ow = _check_size(size)
    h, w = sample.size
    if (h, w) == (oh, ow):
        return DepthSample(image=sample.image.copy(), depth=sample.depth.copy(), valid=sample.valid.copy(),
                           portrait=sample.portrait.copy(), has_portrait=sample.has_portrait)
    return _resample(sample, (0.0, 0.0, float(h), float(w)), (oh, ow), flip=False)
