"""COCO-format instance annotations -> interactive-segmentation samples (one per object)."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.samples import SegSample


def _load_coco(annotations: Path):
    from pycocotools.coco import COCO  # deferred: only this loader needs it

    if not annotations.is_file():
        raise InputError(f"COCO annotation file not found: {annotations}")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints progress lines
            return COCO(str(annotations))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{annotations} is not valid JSON: {exc}") from exc
    except (AssertionError, KeyError, TypeError) as exc:
        raise InputError(f"{annotations} is not a COCO instances file ({type(exc).__name__}: {exc})") from exc


def _read_rgb(path: Path, height: int, width: int) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"COCO image file not found: {path}")
    try:
        with Image.open(path) as im:
            image = np.array(im.convert("RGB"), dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc
    if image.shape[:2] != (height, width):
        raise InputError(
            f"image {path} is {image.shape[0]}x{image.shape[1]} but the annotations say {height}x{width}"
        )
    image.setflags(write=False)  # shared between the samples of this image
    return image


def load_coco_samples(
    annotations: Path,
    images_dir: Path,
    categories: Sequence[str] | None = None,
    min_area: int = 0,
    max_samples: int | None = None,
) -> Iterator[SegSample]:
    """One `SegSample` per annotation that is not `iscrowd`, belongs to one of `categories` (by
    name; all when None) and has `area >= min_area` (the annotation's `area` field, the decoded
    mask's pixel count when absent). `others` holds the masks of the image's other non-crowd
    annotations of any category. Images are visited in id order, annotations in id order.

    The annotation file, the image folder and the category names are checked when this is called;
    a missing or mis-sized image file raises InputError when its turn comes.
    """
    annotations, images_dir = Path(annotations), Path(images_dir)
    coco = _load_coco(annotations)
    if not images_dir.is_dir():
        raise InputError(f"COCO images folder not found: {images_dir}")
    if max_samples is not None and max_samples < 0:
        raise InputError(f"max_samples must be >= 0, got {max_samples}")
    cat_ids = None
    if categories is not None:
        by_name = {c["name"]: c["id"] for c in coco.loadCats(coco.getCatIds())}
        unknown = [name for name in categories if name not in by_name]
        if unknown:
            raise InputError(
                f"unknown COCO categories {unknown} in {annotations}; available: {sorted(by_name)}"
            )
        cat_ids = {by_name[name] for name in categories}
    return _iterate(coco, images_dir, cat_ids, min_area, max_samples)


def _iterate(coco, images_dir: Path, cat_ids, min_area: int, max_samples: int | None) -> Iterator[SegSample]:
    emitted = 0
    if max_samples == 0:
        return
    for img_id in sorted(coco.getImgIds()):
        anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=[img_id], iscrowd=None)), key=lambda a: a["id"])
        anns = [a for a in anns if not a.get("iscrowd", 0)]
        masks: dict[int, np.ndarray] = {}

        def mask_of(ann) -> np.ndarray:
            if ann["id"] not in masks:
                try:
                    m = coco.annToMask(ann).astype(bool)
                except (KeyError, TypeError, ValueError) as exc:
                    raise InputError(
                        f"annotation {ann['id']} (image {img_id}) has no usable segmentation: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                m.setflags(write=False)  # shared between the samples of this image
                masks[ann["id"]] = m
            return masks[ann["id"]]

        chosen = []
        for ann in anns:
            if cat_ids is not None and ann["category_id"] not in cat_ids:
                continue
            area = ann["area"] if "area" in ann else int(mask_of(ann).sum())
            if area < min_area or not mask_of(ann).any():
                continue
            chosen.append(ann)
        if not chosen:
            continue
        info = coco.loadImgs([img_id])[0]
        image = _read_rgb(images_dir / info["file_name"], int(info["height"]), int(info["width"]))
        for ann in chosen:
            others = [mask_of(o) for o in anns if o["id"] != ann["id"]]
            yield SegSample(image=image, target=mask_of(ann), others=others)
            emitted += 1
            if max_samples is not None and emitted >= max_samples:
                return
