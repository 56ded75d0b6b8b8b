"""Copy-paste composites: objects with exact alpha masks pasted onto real photo backgrounds, so the
model sees real textures, real clutter and multi-part objects while the target mask stays exact.

Objects come from a folder of RGBA PNGs (alpha > 0.5 is the object), or, for the embedded
default, are cut from real photos: a texture crop of a photo inside a procedural shape, a union of
two or three shapes (multi-part objects), or a real silhouette (scikit-image's `horse`, CC0).
Each paste is scaled, rotated, flipped, colour-jittered, sometimes blurred, and sometimes casts a
soft shadow; later objects occlude earlier ones. Backgrounds are random crops of photos from a
folder, or of the sample photos installed packages ship (`mobilekit.data.sample_photos`:
training uses `TRAINING` photos only, held-out splits `HELD_OUT` photos only, so held-out
composites have backgrounds and object textures training never saw). Deterministic per seed."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.data.photo_crops import decoded_photo, random_crop
from mobilekit.data.shapes import SHAPES, shape_mask
from mobilekit.families.segmentation.samples import SegSample

CUTOUT_SIDE = 192  # object textures and procedural masks are made at this size, then scaled
MIN_VISIBLE = 0.02  # a target's visible share of the image


@dataclass(frozen=True)
class Cutout:
    """An object: RGB (h, w, 3) float32 and its alpha (h, w) float32 in [0, 1], cropped to the object."""

    rgb: np.ndarray
    alpha: np.ndarray


def _cropped(rgb: np.ndarray, alpha: np.ndarray) -> Cutout:
    ys, xs = np.nonzero(alpha > 0.5)
    if not len(ys):
        raise ValueError("empty cut-out")
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return Cutout(rgb[box].astype(np.float32), alpha[box].astype(np.float32))


def rgba_cutout(path: Path) -> Cutout:
    """An object from an RGBA PNG; InputError naming the file when it has no usable alpha."""
    from mobilekit.data.image_io import decode_image

    image = decode_image(path, "segmentation.composites object", lossless=True).image
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        raise InputError(f"segmentation.composites.objects: {path} has no alpha channel (objects must be RGBA PNGs; "
                         f"alpha > 50 % marks the object)")
    pixels = np.asarray(image.convert("RGBA"))
    alpha = pixels[..., 3].astype(np.float32) / 255.0
    if not (alpha > 0.5).any() or (alpha > 0.5).all():
        raise InputError(f"segmentation.composites.objects: {path}: the alpha channel must mark an object "
                         f"(some pixels above 50 %, some below); it is {'empty' if not (alpha > 0.5).any() else 'fully opaque'}")
    return _cropped(pixels[..., :3].astype(np.float32), alpha)


@lru_cache(maxsize=4)
def _silhouette(name: str) -> np.ndarray:
    from mobilekit.data.image_io import read_rgb8
    from mobilekit.data.sample_photos import sample_photo_path

    return read_rgb8(sample_photo_path(name), "silhouette")[..., 0] < 128


def textured_cutout(rng: np.random.Generator, photos: list[Path], silhouettes: bool) -> Cutout:
    """A real-texture object: a photo crop inside a shape, a union of shapes or a silhouette."""
    side = CUTOUT_SIDE
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    kind = rng.choice(["shape", "parts", "silhouette"] if silhouettes else ["shape", "parts"], p=[0.5, 0.3, 0.2] if silhouettes else [0.6, 0.4])
    if kind == "silhouette":
        from PIL import Image

        from mobilekit.data.sample_photos import SILHOUETTES

        mask = _silhouette(SILHOUETTES[int(rng.integers(len(SILHOUETTES)))])
        mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((side, side), Image.BILINEAR)) > 127
    else:
        parts = 1 if kind == "shape" else int(rng.integers(2, 4))
        mask = np.zeros((side, side), bool)
        for i in range(parts):
            radius = rng.uniform(0.3, 0.45) * side if i == 0 else rng.uniform(0.15, 0.3) * side
            cy, cx = (side / 2, side / 2) if i == 0 else rng.uniform(0.25, 0.75, size=2) * side
            mask |= shape_mask(rng, SHAPES[int(rng.integers(len(SHAPES)))], yy, xx, cy, cx, radius)
    rgb = random_crop(rng, decoded_photo(photos[int(rng.integers(len(photos)))], "composite texture"), (side, side)).astype(np.float32)
    if np.ptp(rgb.reshape(-1, 3).mean(0)) < 1.0:  # a grey photo: tint it
        rgb = rgb * rng.uniform(0.5, 1.2, size=3)
    return _cropped(rgb, mask.astype(np.float32))


def _jitter(rng: np.random.Generator, rgb: np.ndarray) -> np.ndarray:
    grey = rgb.mean(-1, keepdims=True)
    rgb = grey + (rgb - grey) * rng.uniform(0.6, 1.4)  # saturation
    return rgb * rng.uniform(0.7, 1.3) + rng.uniform(-20, 20, size=3)  # contrast/brightness per channel


def paste(rng: np.random.Generator, canvas: np.ndarray, cutout: Cutout) -> np.ndarray:
    """Paste `cutout` into `canvas` (H, W, 3 float, in place); returns its full-canvas mask (bool)."""
    from PIL import Image, ImageFilter

    height, width = canvas.shape[:2]
    longest = rng.uniform(0.3, 0.85) * min(height, width)
    scale = longest / max(cutout.alpha.shape)
    h, w = max(2, round(cutout.alpha.shape[0] * scale)), max(2, round(cutout.alpha.shape[1] * scale))
    rgba = np.dstack([np.clip(_jitter(rng, cutout.rgb), 0, 255), cutout.alpha * 255.0]).astype(np.uint8)
    image = Image.fromarray(rgba, "RGBA").resize((w, h), Image.BILINEAR)
    if rng.random() < 0.5:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    image = image.rotate(float(rng.uniform(-35, 35)), resample=Image.BILINEAR, expand=True)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    obj = np.asarray(image, np.float32)
    oh, ow = obj.shape[:2]
    top = int(rng.integers(-oh // 4, max(height - 3 * oh // 4, -oh // 4 + 1)))
    left = int(rng.integers(-ow // 4, max(width - 3 * ow // 4, -ow // 4 + 1)))
    alpha = np.zeros((height, width), np.float32)
    rgb = np.zeros((height, width, 3), np.float32)
    ys, xs = slice(max(top, 0), min(top + oh, height)), slice(max(left, 0), min(left + ow, width))
    src = (slice(ys.start - top, ys.stop - top), slice(xs.start - left, xs.stop - left))
    alpha[ys, xs] = obj[src][..., 3] / 255.0
    rgb[ys, xs] = obj[src][..., :3]
    if rng.random() < 0.5:  # a soft shadow, offset down-right or down-left
        from scipy.ndimage import gaussian_filter, shift

        offset = (rng.uniform(0.02, 0.06) * height, rng.uniform(-0.05, 0.05) * width)
        shadow = gaussian_filter(shift(alpha, offset, order=1, cval=0.0), float(rng.uniform(1.5, 4.5)))
        canvas *= (1.0 - rng.uniform(0.25, 0.55) * shadow)[..., None]
    canvas[:] = alpha[..., None] * rgb + (1.0 - alpha[..., None]) * canvas
    return alpha > 0.5


def composite_scene(rng: np.random.Generator, background: np.ndarray, objects: Callable[[], Cutout],
                    max_objects: int = 3) -> SegSample:
    """1..max_objects pasted objects on `background` (H, W, 3 uint8); the target is one whose
    visible area is at least MIN_VISIBLE of the image, the others are negatives' sources."""
    height, width = background.shape[:2]
    for _ in range(20):
        canvas = background.astype(np.float32)
        masks: list[np.ndarray] = []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            mask = paste(rng, canvas, objects())
            masks = [m & ~mask for m in masks] + [mask]
        visible = [m for m in masks if m.mean() >= MIN_VISIBLE]
        if visible:
            index = int(rng.integers(len(visible)))
            pixels = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
            return SegSample(pixels, visible[index], [m for i, m in enumerate(visible) if i != index])
    raise InputError("segmentation.composites: 20 composites in a row left no object visible over 2 % of the image; "
                     "the objects are too small or too thin for this image size")


def composite_samples(objects_root: Path | None, backgrounds_root: Path | None, split: str, rng: np.random.Generator,
                      size: tuple[int, int], max_objects: int) -> Iterator[SegSample]:
    """Endless composites of `split` at `size` (height, width)."""
    from mobilekit.data.sample_photos import HELD_OUT, TRAINING, sample_photo_path
    from mobilekit.data.photo_crops import list_photos, split_by_file

    samples = [sample_photo_path(n) for n in (TRAINING if split == "train" else HELD_OUT)]
    backgrounds = split_by_file(list_photos(backgrounds_root, "segmentation.composites.backgrounds"), split) if backgrounds_root else samples
    if objects_root:
        files = split_by_file(list_photos(objects_root, "segmentation.composites.objects", (".png",)), split)
        cutouts = [rgba_cutout(p) for p in files]

        def objects() -> Cutout:
            return cutouts[int(rng.integers(len(cutouts)))]
    else:
        def objects() -> Cutout:
            return textured_cutout(rng, samples, silhouettes=split == "train")
    while True:
        background = random_crop(rng, decoded_photo(backgrounds[int(rng.integers(len(backgrounds)))], "composite background"), size)
        yield composite_scene(rng, background, objects, max_objects)
