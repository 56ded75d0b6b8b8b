"""Benchmark: object removal on real photos at 12 MP, our high-resolution strategies against the
strategies users already run, and the generator at its own resolution against OpenCV.

Photos: scikit-image's held-out sample photos (`mobilekit.data.sample_photos.HELD_OUT`: chelsea
CC0, coffee CC0, rocket public domain, astronaut public domain), upscaled (bicubic, cropped to 4:3)
to 4032×3024. Masks: three sizes of free-form holes (strokes / blobs / object shapes) drawn at
1/8 scale and smoothed up. Every strategy runs the same model on the same photo and mask:

- ours: `two-step`, `shrink`, `both` (`mobilekit/families/inpainting/highres.py`);
- IOPaint-style `crop` (128 px margin per contour, no size cap) and `resize` (longest side 1280);
- `none`: plain downscale to the model's size, inpaint, bicubic back up;
- OpenCV's Telea and Navier-Stokes at full resolution (radius 5), the classical baselines.

Each (photo, mask, strategy) runs in a fresh child process, interleaved round-robin, so its peak
RSS (`ru_maxrss`) is its own; the child's RSS after loading the model (before any work) is printed
as `base`. Quality: PSNR and SSIM over the hole against the original photo.

With `--config`, also the generator at its own resolution on the config's held-out split (the
`sample-photos` config: crops of the held-out photos, holes of 0–10 / 10–30 / 30–50 %) against
Telea and Navier-Stokes on the same crops and holes.

    PYTHONPATH=. python bench/bench_inpainting.py --model M.tflite [--config configs/inpainting-photos.yaml]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import numpy as np  # noqa: E402

MODEL_STRATEGIES = ("two-step", "shrink", "both", "crop", "resize", "none")
CLASSICAL = ("telea", "navier-stokes")
MASK_SIZES = {"small": (0.01, 0.03), "medium": (0.08, 0.12), "large": (0.25, 0.32)}
SIZE = (3024, 4032)


def photo_12mp(name: str) -> np.ndarray:
    from PIL import Image

    from mobilekit.data.image_io import read_rgb8
    from mobilekit.data.sample_photos import sample_photo_path

    pixels = read_rgb8(sample_photo_path(name))
    h, w = pixels.shape[:2]
    target = SIZE[1] / SIZE[0]
    if w / h > target:  # crop to 4:3 around the centre
        cw = int(h * target)
        pixels = pixels[:, (w - cw) // 2:(w - cw) // 2 + cw]
    else:
        ch = int(w / target)
        pixels = pixels[(h - ch) // 2:(h - ch) // 2 + ch]
    return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).resize((SIZE[1], SIZE[0]), Image.BICUBIC))


def mask_12mp(seed: int, bucket: tuple[float, float]) -> np.ndarray:
    from scipy.ndimage import gaussian_filter, zoom

    from mobilekit.families.inpainting.masks import free_form_mask

    small = free_form_mask(np.random.default_rng(seed), SIZE[0] // 8, SIZE[1] // 8, bucket)
    return gaussian_filter(zoom(small.astype(np.float32), 8, order=0), 4.0) > 0.5


def hole_quality(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    from mobilekit.families.inpainting.metrics import psnr, ssim_map

    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    y0, y1 = max(rows[0] - 8, 0), min(rows[-1] + 9, mask.shape[0])
    x0, x1 = max(cols[0] - 8, 0), min(cols[-1] + 9, mask.shape[1])
    a, b = result[y0:y1, x0:x1].astype(np.float32) / 255, truth[y0:y1, x0:x1].astype(np.float32) / 255
    m = mask[y0:y1, x0:x1]
    return psnr(a, b, m), float(ssim_map(a, b)[m].mean())


def _child(args: tuple) -> dict:
    strategy, model, photo_path, mask_path = args
    photo, mask = np.load(photo_path), np.load(mask_path)
    if strategy in CLASSICAL:
        import cv2

        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        flag = cv2.INPAINT_TELEA if strategy == "telea" else cv2.INPAINT_NS
        result = cv2.inpaint(photo, mask.astype(np.uint8) * 255, 5, flag)
    else:
        from mobilekit.core.family import get_family
        from mobilekit.families.inpainting.highres import remove_object
        from mobilekit.families.inpainting.predict import model_inpaint
        from mobilekit.pipeline.predict import load_predictor

        predictor = load_predictor(Path(model), get_family("inpainting"))
        inpaint = model_inpaint(predictor)
        inpaint(np.zeros((predictor.height, predictor.width, 3), np.float32), np.zeros((predictor.height, predictor.width), np.float32))
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        result = remove_object(photo, mask, inpaint, strategy=strategy, model_size=(predictor.height, predictor.width))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outside_identical = bool(np.array_equal(result[~mask], photo[~mask]))
    psnr, ssim = hole_quality(result, photo, mask)
    return {"seconds": seconds, "peak_mb": peak, "base_mb": base, "psnr": psnr, "ssim": ssim, "outside_identical": outside_identical}


def highres_table(model: str, photos: list[str], strategies: list[str]) -> None:
    ctx = mp.get_context("spawn")
    rows: dict[tuple[str, str, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        for i, name in enumerate(photos):
            photo_path = Path(tmp) / f"{name}.npy"
            np.save(photo_path, photo_12mp(name))
            for j, (size, bucket) in enumerate(MASK_SIZES.items()):
                mask = mask_12mp(100 * i + j, bucket)
                mask_path = Path(tmp) / f"{name}-{size}.npy"
                np.save(mask_path, mask)
                cases.append((name, size, float(mask.mean()), photo_path, mask_path))
        for name, size, ratio, photo_path, mask_path in cases:  # interleaved: every strategy on one case, then the next
            for strategy in strategies:
                with ctx.Pool(1) as pool:
                    rows[(name, size, strategy)] = {**pool.apply(_child, ((strategy, model, str(photo_path), str(mask_path)),)), "ratio": ratio}
                r = rows[(name, size, strategy)]
                print(f"{name:10s} {size:6s} {ratio * 100:5.1f}% {strategy:14s} psnr {r['psnr']:6.2f} dB  ssim {r['ssim']:.3f}  "
                      f"{r['seconds']:7.2f} s  peak {r['peak_mb']:6.0f} MB (base {r['base_mb']:5.0f})  outside identical {r['outside_identical']}",
                      flush=True)
    print("\nmean over photos: | mask | strategy | hole PSNR (dB) | hole SSIM | time (s) | peak RSS (MB) | over base (MB) |")
    print("|---|---|---|---|---|---|---|")
    for size in MASK_SIZES:
        for strategy in strategies:
            chosen = [r for (n, s, st), r in rows.items() if s == size and st == strategy]
            mean = {k: float(np.mean([r[k] for r in chosen])) for k in ("psnr", "ssim", "seconds", "peak_mb", "base_mb")}
            print(f"| {size} | {strategy} | {mean['psnr']:.2f} | {mean['ssim']:.3f} | {mean['seconds']:.1f} | {mean['peak_mb']:.0f} | "
                  f"{mean['peak_mb'] - mean['base_mb']:.0f} |")


def model_resolution_table(model: str, config_path: str) -> None:
    """The generator at its own resolution on the config's held-out split against OpenCV."""
    import cv2

    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family
    from mobilekit.pipeline.predict import load_predictor

    family = get_family("inpainting")
    config, _ = load_config(Path(config_path))
    split = family.make_split(config, "val")
    predictor = load_predictor(Path(model), family)
    outputs = {"model": [], "telea": [], "navier-stokes": []}
    for i in range(len(split)):
        image, mask = split.inputs["image"][i], split.inputs["mask"][i]
        outputs["model"].append(predictor.predict({"image": image[None], "mask": mask[None]})["inpainted"][0])
        pixels, hole = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8), (mask[..., 0] > 0.5).astype(np.uint8) * 255
        for name, flag in (("telea", cv2.INPAINT_TELEA), ("navier-stokes", cv2.INPAINT_NS)):
            outputs[name].append(cv2.inpaint(pixels, hole, 3, flag).astype(np.float32) / 255)
    print(f"\nat the model's own resolution ({predictor.height}x{predictor.width}), {len(split)} held-out crops "
          f"({config.data.source}):")
    print("| method | bucket | hole PSNR (dB) | hole SSIM | hole L1 |")
    print("|---|---|---|---|---|")
    for name, values in outputs.items():
        scores = family.score_outputs({"inpainted": np.stack(values)}, split)
        for bucket in ("0_10", "10_30", "30_50"):
            print(f"| {name} | {bucket.replace('_', '–')} % | {scores[f'hole_psnr_{bucket}']:.2f} | {scores[f'hole_ssim_{bucket}']:.3f} | "
                  f"{scores[f'hole_l1_{bucket}']:.4f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=".tflite, .mlpackage or .keras of the inpainting family")
    parser.add_argument("--photos", nargs="+", default=["chelsea", "coffee", "rocket", "astronaut"])
    parser.add_argument("--strategies", nargs="+", default=list(MODEL_STRATEGIES + CLASSICAL))
    parser.add_argument("--config", help="also: the model at its own resolution on this config's held-out split")
    parser.add_argument("--skip-highres", action="store_true")
    args = parser.parse_args()
    if not args.skip_highres:
        highres_table(args.model, args.photos, args.strategies)
    if args.config:
        model_resolution_table(args.model, args.config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
