"""The inpainting family's parts: free-form holes land in their buckets, partial convolution follows
Liu et al.'s formula, hole metrics, and the local discriminator's boxes centre on the hole."""
from __future__ import annotations

import numpy as np
import pytest

from mobilekit.families.inpainting.masks import bucket_of, free_form_mask, hole_ratio
from mobilekit.families.inpainting.metrics import EVAL_BUCKETS, PSNR_CAP, psnr, sample_scores, score_batch


@pytest.mark.parametrize("kind", ["strokes", "blobs", "objects"])
@pytest.mark.parametrize("bucket", EVAL_BUCKETS)
def test_free_form_masks_land_in_their_bucket(kind, bucket):
    rng = np.random.default_rng(3)
    ratios = [hole_ratio(free_form_mask(rng, 96, 128, bucket, (kind,))) for _ in range(6)]
    inside = [bucket_of(r, EVAL_BUCKETS) == EVAL_BUCKETS.index(bucket) for r in ratios]
    assert sum(inside) >= 5, (kind, bucket, ratios)
    assert all(r > 0 for r in ratios)


def test_masks_are_deterministic_per_seed():
    a = free_form_mask(np.random.default_rng(9), 64, 64, (0.1, 0.3))
    b = free_form_mask(np.random.default_rng(9), 64, 64, (0.1, 0.3))
    assert np.array_equal(a, b)


def _partial_conv_numpy(x, mask, kernel, bias):
    """out = W·(X⊙M)·(k²/sum(M)) + b where sum(M) > 0, else 0 (stride 1, SAME, one mask channel)."""
    k = kernel.shape[0]
    pad = k // 2
    xp = np.pad(x * mask, ((pad, pad), (pad, pad), (0, 0)))
    mp = np.pad(mask[..., 0], pad)
    h, w = mask.shape[:2]
    out = np.zeros((h, w, kernel.shape[3]), np.float64)
    new_mask = np.zeros((h, w, 1))
    for i in range(h):
        for j in range(w):
            count = mp[i:i + k, j:j + k].sum()
            if count > 0:
                window = xp[i:i + k, j:j + k]
                out[i, j] = np.tensordot(window, kernel, axes=3) * (k * k / count) + bias
                new_mask[i, j] = 1.0
    return out, new_mask


def test_partial_convolution_matches_the_formula():
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.nn.layers import PartialConv2D

    tf, _ = tf_and_keras()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 12, 10, 3)).astype(np.float32)
    mask = np.ones((1, 12, 10, 1), np.float32)
    mask[0, 2:9, 3:8] = 0.0  # a hole larger than the kernel: its centre stays invalid
    layer = PartialConv2D(4, 3)
    out, new_mask = layer([tf.constant(x), tf.constant(mask)])
    layer.bias.assign(rng.normal(size=4).astype(np.float32))
    out, new_mask = layer([tf.constant(x), tf.constant(mask)])
    want, want_mask = _partial_conv_numpy(x[0], mask[0], layer.kernel.numpy(), layer.bias.numpy())
    np.testing.assert_allclose(out.numpy()[0], want, atol=1e-4)
    np.testing.assert_array_equal(new_mask.numpy()[0], want_mask)
    assert want_mask[5, 5, 0] == 0 and want_mask[2, 3, 0] == 1


def _box_mean_numpy(x: np.ndarray) -> np.ndarray:
    """3x3 mean of an (H, W, C) map, the window clipped at the borders (avg_pool SAME)."""
    h, w = x.shape[:2]
    out = np.empty_like(x)
    for i in range(h):
        for j in range(w):
            out[i, j] = x[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2].mean(axis=(0, 1))
    return out


def test_pull_push_fill_relaxation_matches_jacobi_sweeps_and_smooths_the_hole():
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.nn.layers import PushPullFill

    tf, _ = tf_and_keras()
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32) / 31
    image = np.stack([yy, xx, yy * xx], -1) + rng.normal(0, 0.01, (32, 32, 3)).astype(np.float32)
    valid = np.ones((32, 32, 1), np.float32)
    valid[6:26, 9:23] = 0.0
    masked = image * valid
    args = [tf.constant(masked[None]), tf.constant(valid[None])]
    plain = PushPullFill(5)(args).numpy()[0]
    relaxed = PushPullFill(5, relax=30)(args).numpy()[0]
    want = plain
    for _ in range(30):  # Jacobi: unknown pixels take their 3x3 mean, known pixels stay the image's
        want = masked * valid + (1 - valid) * _box_mean_numpy(want)
    np.testing.assert_allclose(relaxed, want, atol=1e-5)
    np.testing.assert_allclose(relaxed[valid[..., 0] > 0], image[valid[..., 0] > 0], atol=1e-6)
    hole = valid[..., 0] == 0

    def roughness(fill):  # the discrete Laplacian inside the hole: 0 for the harmonic fill
        return float(np.abs(_box_mean_numpy(fill) - fill)[hole].mean())

    assert roughness(relaxed) < 0.5 * roughness(plain)
    # the smooth ramps under the hole are recovered better than by pull-push alone
    assert np.abs(relaxed - image)[hole].mean() < np.abs(plain - image)[hole].mean()
    with pytest.raises(ValueError, match="relax"):
        PushPullFill(5, relax=-1)


def test_hole_metrics():
    rng = np.random.default_rng(1)
    truth = rng.uniform(size=(32, 32, 3)).astype(np.float32)
    mask = np.zeros((32, 32), bool)
    mask[8:16, 8:20] = True
    assert psnr(truth, truth, mask) == PSNR_CAP
    completed = truth.copy()
    completed[mask] += 0.1
    completed = np.clip(completed, 0, 1)
    scores = sample_scores(completed, truth, mask)
    assert 19.0 < scores["hole_psnr"] <= 20.5 and scores["box_psnr"] == pytest.approx(scores["hole_psnr"])
    assert scores["hole_ssim"] < 1.0 and 0.05 < scores["hole_l1"] <= 0.1
    batch = score_batch(np.stack([truth, completed]), np.stack([truth, truth]), np.stack([mask, mask])[..., None])
    assert np.isnan(batch["hole_psnr_30_50"]) and batch["hole_psnr_0_10"] == pytest.approx((PSNR_CAP + scores["hole_psnr"]) / 2)


def test_local_discriminator_boxes_centre_on_the_hole():
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.families.inpainting.training import hole_boxes

    tf, _ = tf_and_keras()
    mask = np.zeros((2, 64, 64, 1), np.float32)
    mask[0, 40:48, 44:60] = 1.0  # centre (44, 52) -> clipped so the half-size box stays inside
    mask[1, 20:30, 20:30] = 1.0  # centre (25, 25)
    boxes = hole_boxes(tf, tf.constant(mask), 0.5).numpy()
    np.testing.assert_allclose(boxes[0], [44 / 64 - 0.25, 0.5, 44 / 64 + 0.25, 1.0], atol=1e-6)
    np.testing.assert_allclose(boxes[1], [25 / 64 - 0.25, 25 / 64 - 0.25, 25 / 64 + 0.25, 25 / 64 + 0.25], atol=1e-6)


@pytest.mark.parametrize("preset", ["tiny", "pconv-tiny"])
def test_the_generator_never_sees_the_hole_content(preset):
    """Whatever the photo holds inside the hole, the completion is the same (no leak through skips)."""
    from mobilekit.families.inpainting.family import PRESETS
    from mobilekit.families.inpainting.network import build_generator

    model = build_generator(32, 32, PRESETS[preset])
    rng = np.random.default_rng(2)
    image = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    mask = np.zeros((1, 32, 32, 1), np.float32)
    mask[0, 8:24, 6:20] = 1.0
    other = np.where(mask > 0, rng.uniform(size=image.shape), image).astype(np.float32)
    a = model({"image": image, "mask": mask})["inpainted"].numpy()
    b = model({"image": other, "mask": mask})["inpainted"].numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[0][mask[0, ..., 0] == 0], image[0][mask[0, ..., 0] == 0])


def test_fixed_size_model_runs_whole_then_on_native_resolution_windows():
    """`model_inpaint`: a larger image gets one whole-image call at the model's size, then calls on
    model-sized windows whose hole share is at most half; known pixels never change."""
    from types import SimpleNamespace

    from mobilekit.families.inpainting.predict import MAX_TILE_HOLE, model_inpaint

    calls = []

    def predict(inputs):
        calls.append((inputs["image"].shape[1:3], float(inputs["mask"].mean())))
        return {"inpainted": np.where(inputs["mask"] > 0.5, 0.25, inputs["image"])}

    inpaint = model_inpaint(SimpleNamespace(height=16, width=16, runner="fake", predict=predict))
    rng = np.random.default_rng(4)
    image = rng.uniform(size=(40, 56, 3)).astype(np.float32)
    hole = np.zeros((40, 56), np.float32)
    hole[10:14, 5:50] = 1.0  # a thin stroke: every window along it is mostly known
    out = inpaint(image, hole)
    assert calls[0][0] == (16, 16) and len(calls) > 1
    assert all(shape == (16, 16) and share <= MAX_TILE_HOLE for shape, share in calls[1:])
    np.testing.assert_array_equal(out[hole == 0], image[hole == 0])
    np.testing.assert_allclose(out[hole == 1], 0.25)


def test_photo_sources_split_by_file_and_crop_to_the_model_size(tmp_path):
    """`folders`: any folder of photos, 80/10/10 by file; `sample-photos`: held-out photos only in val."""
    from PIL import Image

    from mobilekit.core.config import load_config
    from mobilekit.data.sample_photos import HELD_OUT, TRAINING
    from mobilekit.families.inpainting.family import INPAINTING
    from mobilekit.data.photo_crops import list_photos, split_by_file

    rng = np.random.default_rng(5)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (50 + i, 70, 3), dtype=np.uint8)).save(tmp_path / f"p{i:02d}.png")
    photos = list_photos(tmp_path, "inpainting.folders.root")
    splits = {s: set(split_by_file(photos, s)) for s in ("train", "val", "parity")}
    assert len(splits["train"]) == 10 and not splits["train"] & (splits["val"] | splits["parity"])
    config, _ = load_config("configs/inpainting-tiny.yaml")
    data = config.model_dump()
    data["data"].update(source="folders", train_samples=4, val_samples=3)
    data["inpainting"] = {"folders": {"root": str(tmp_path)}}
    folders = type(config).model_validate(data)
    examples = list(INPAINTING.iter_examples(folders, "val"))
    assert len(examples) == 3 and examples[0]["image"].shape == (64, 64, 3) and examples[0]["mask"].shape == (64, 64, 1)
    assert not set(HELD_OUT) & set(TRAINING)
    data["data"]["source"] = "sample-photos"
    del data["inpainting"]
    real = next(INPAINTING.iter_examples(type(config).model_validate(data), "val"))
    assert real["image"].shape == (64, 64, 3) and 0 < real["mask"].mean() < 0.6
