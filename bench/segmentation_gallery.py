"""Gallery: one click on real photos that installed packages ship (scikit-image's `chelsea`,
`coffee` and `rocket`; licences in mobilekit/data/sample_photos.py), with a segmentation model
of your choice: per photo the input with the click, and the selection overlaid. Prints the
selected share of each photo.

    PYTHONPATH=. python bench/segmentation_gallery.py --model runs/train/model.keras --out docs/gallery/segmentation.png
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import numpy as np  # noqa: E402

import mobilekit  # noqa: E402,F401  (TF_USE_LEGACY_KERAS before TensorFlow)

# (photo, one positive click x, y in the photo's pixels): on the object the gallery asks for
CASES = (("chelsea", 200, 80), ("coffee", 300, 205), ("rocket", 320, 250))
TILE_HEIGHT = 240


def _tile(pixels: np.ndarray) -> np.ndarray:
    from PIL import Image

    h, w = pixels.shape[:2]
    return np.asarray(Image.fromarray(pixels).resize((round(w * TILE_HEIGHT / h), TILE_HEIGHT), Image.BILINEAR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/gallery/segmentation.png"))
    parser.add_argument("--upsample", default="guided")
    args = parser.parse_args()

    from mobilekit.core.family import get_family
    from mobilekit.data.image_io import read_rgb8, write_png
    from mobilekit.data.sample_photos import sample_photo_path
    from mobilekit.families.segmentation.clicks import Click
    from mobilekit.families.segmentation.predict import overlay, select_object
    from mobilekit.pipeline.predict import load_predictor

    predictor = load_predictor(args.model, get_family("segmentation"))
    rows = []
    for name, x, y in CASES:
        photo = read_rgb8(sample_photo_path(name), name)
        clicks = [Click(y=y, x=x, positive=True)]
        prob = select_object(predictor, photo, clicks, args.upsample)
        print(f"{name:8} click ({x}, {y}): selected {float((prob > 0.5).mean()):.1%} of the photo")
        marked = photo.copy()
        r = max(3, min(photo.shape[:2]) // 60)
        marked[max(0, y - r): y + r + 1, max(0, x - r): x + r + 1] = (0, 220, 0)
        rows.append(np.concatenate([_tile(marked), _tile(overlay(photo, prob, clicks))], axis=1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows], axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_png(args.out, sheet)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
