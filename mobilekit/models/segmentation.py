"""Segmentation family: click-guided object selection (Xu et al. 2016 inputs)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

import numpy as np

from mobilekit.data.clicks import (Click, ClickSampling, encode_click_maps, next_click, normalize_click_maps,
                                   simulate_corrective_clicks, simulate_training_clicks)
from mobilekit.models.base import ModelFamily, ModelIO, Split, TensorInfo

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig

IMAGE_SCALE = 1.0 / 255.0
CLICK_TRUNCATE = 255.0
# How training clicks are made: (strategy, share). The evaluation protocol's first click alone;
# first click plus corrective clicks on a perturbed prediction; Xu et al.'s random sampling.
CLICK_STRATEGIES = (("first", 0.35), ("corrective", 0.35), ("xu2016", 0.30))
ITERATIVE_SHARE = 0.3  # share of training samples that get a model-placed corrective click after an epoch
ITERATIVE_FROM_EPOCH = 2
ITERATIVE_MAX_CLICKS = 12

PRESETS: dict[str, dict[str, Any]] = {
    # stages: (squeeze, expand, fire modules) per encoder stage at H/4, H/8, H/16
    "tiny": {"stem": 8, "stages": [(4, 8, 1), (8, 16, 1), (12, 24, 1)], "context": 24, "refine": [16, 12, 8, 8], "head": 8},  # 48k
    "small": {"stem": 24, "stages": [(16, 48, 2), (24, 96, 2), (40, 128, 2)], "context": 128, "refine": [48, 32, 24, 16], "head": 16},  # 0.86M
    "base": {"stem": 48, "stages": [(32, 128, 2), (48, 192, 3), (96, 320, 3)], "context": 256, "refine": [128, 96, 48, 32], "head": 32},  # 5.3M
}


def predict_mask(predict: Callable[[dict], dict], image: np.ndarray, clicks: list[Click]) -> np.ndarray:
    """Probability mask (H, W) for one float image in [0, 1] and a click list."""
    height, width = image.shape[:2]
    maps = normalize_click_maps(encode_click_maps(clicks, height, width, CLICK_TRUNCATE), CLICK_TRUNCATE)
    return predict({"image": image[None], "clicks": maps[None]})["mask"][0, ..., 0]


def _pick_strategy(rng: np.random.Generator) -> str:
    names, shares = zip(*CLICK_STRATEGIES)
    return names[int(rng.choice(len(names), p=np.asarray(shares) / sum(shares)))]


class SegmentationFamily(ModelFamily):
    name = "segmentation"
    presets = PRESETS
    labels = ("object",)
    task_metric_name = "mask_iou"
    budget_metrics = ("iou", "boundary_f")

    def io(self, config: "BuildConfig") -> ModelIO:
        return self.io_for_size(*config.data.image_size)

    def io_for_size(self, h: int, w: int) -> ModelIO:
        return ModelIO(
            inputs=(
                TensorInfo("image", (1, h, w, 3), "RGB photo; pixel values scaled to [0, 1]", kind="image", color_layout="RGB",
                           normalization={"scale": IMAGE_SCALE, "bias": 0.0, "mean": [0.0] * 3, "std": [255.0] * 3}),
                TensorInfo("clicks", (1, h, w, 2),
                           "Click maps: per pixel Euclidean distance (px) to the nearest positive (channel 0) and negative "
                           "(channel 1) click, truncated at 255, divided by 255; 1.0 everywhere when there is no click",
                           normalization={"truncate": CLICK_TRUNCATE, "scale": 1.0 / CLICK_TRUNCATE}),
            ),
            outputs=(TensorInfo("mask", (1, h, w, 1), "Probability that the pixel belongs to the selected object",
                                normalization={"range": [0.0, 1.0], "threshold": 0.5}),),
        )

    def build_model(self, config: "BuildConfig"):
        from mobilekit.models.segmentation_net import build_segmentation_net

        h, w = config.data.image_size
        return build_segmentation_net(h, w, self.presets[config.preset])

    def make_split(self, config: "BuildConfig", split: Literal["train", "val", "parity"]) -> Split:
        from mobilekit.data.augment import Augmentation, augment, resize_sample
        from mobilekit.data.service import iter_samples, split_rng

        h, w = config.data.image_size
        count = {"train": config.data.train_samples, "val": config.data.val_samples, "parity": config.data.parity_samples}[split]
        rng = split_rng(config.seed + 1, split)
        sampling = ClickSampling(**config.data.clicks.model_dump()).scaled(h, w)
        click_lists: list[list[Click]] = []
        images = np.empty((count, h, w, 3), np.float32)
        clicks = np.empty((count, h, w, 2), np.float32)
        targets = np.empty((count, h, w, 1), np.float32)
        source = iter_samples(config, split)
        for i in range(count):
            sample = next(source)
            if split == "train" and config.data.augment:
                sample = augment(sample, rng, Augmentation(), (h, w))
            elif sample.image.shape[:2] != (h, w):
                sample = resize_sample(sample, (h, w))
            strategy = _pick_strategy(rng) if split == "train" else "first"
            if strategy == "xu2016":
                sample_clicks = simulate_training_clicks(sample.target, sample.others, rng, sampling)
            elif strategy == "corrective":
                sample_clicks = simulate_corrective_clicks(sample.target, rng, others=sample.others)
            else:
                sample_clicks = [next_click(np.zeros_like(sample.target), sample.target)]
            click_lists.append(sample_clicks)
            images[i] = sample.image * IMAGE_SCALE
            clicks[i] = normalize_click_maps(encode_click_maps(sample_clicks, h, w, CLICK_TRUNCATE), CLICK_TRUNCATE)
            targets[i, ..., 0] = sample.target
        return Split({"image": images, "clicks": clicks}, targets, {"clicks": click_lists})

    def refresh_split(self, predict: Callable[[dict], dict], split: Split, epoch: int, rng: np.random.Generator) -> None:
        """Iterative click training (as in RITM, Sofiiuk et al. 2022): for a share of the training
        samples, run the current model and add the evaluation protocol's next click on its own
        errors, so the model learns to respond to corrective clicks (negatives on confused
        neighbours especially). Deterministic for a seed."""
        chosen = np.flatnonzero(rng.random(len(split)) < ITERATIVE_SHARE)
        if epoch + 1 < ITERATIVE_FROM_EPOCH or not len(chosen):
            return
        masks = predict({name: array[chosen] for name, array in split.inputs.items()})["mask"][..., 0] > 0.5
        height, width = split.targets.shape[1:3]
        for index, pred in zip(chosen, masks):
            clicks = split.extras["clicks"][index]
            click = next_click(pred, split.targets[index, ..., 0] > 0.5)
            if click is None or len(clicks) >= ITERATIVE_MAX_CLICKS:
                continue
            clicks.append(click)
            split.inputs["clicks"][index] = normalize_click_maps(encode_click_maps(clicks, height, width, CLICK_TRUNCATE), CLICK_TRUNCATE)

    def loss(self):
        from mobilekit.train.losses import bce_dice_loss

        return bce_dice_loss

    def task_metric(self, reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray]) -> float:
        from mobilekit.train.metrics import iou

        ref, cand = reference["mask"][..., 0] > 0.5, candidate["mask"][..., 0] > 0.5
        return float(np.mean([iou(c, r) for r, c in zip(ref, cand)]))

    def evaluate(self, predict: Callable[[dict], dict], config: "BuildConfig") -> dict[str, float]:
        """IoU after the first simulated click, boundary F, and NoC@85/90 (Xu et al. protocol)."""
        from mobilekit.train.metrics import boundary_fscore, iou, number_of_clicks, summarize_noc

        split = self.make_split(config, "val")
        ious, fscores, nocs = [], [], []
        for image, target in zip(split.inputs["image"], split.targets[..., 0] > 0.5):
            first = predict_mask(predict, image, [next_click(np.zeros_like(target), target)]) > 0.5
            ious.append(iou(first, target))
            fscores.append(boundary_fscore(first, target))
            nocs.append(number_of_clicks(lambda clicks: predict_mask(predict, image, clicks), target))
        return {"iou": float(np.mean(ious)), "boundary_f": float(np.mean(fscores)), **summarize_noc(nocs)}

    def score_outputs(self, outputs: Mapping[str, np.ndarray], split: Split) -> dict[str, float]:
        """IoU and boundary F of thresholded masks; on the val split (first click) the IoU equals
        `evaluate`'s first-click IoU."""
        from mobilekit.train.metrics import boundary_fscore, iou

        pairs = list(zip(outputs["mask"][..., 0] > 0.5, split.targets[..., 0] > 0.5))
        return {"iou": float(np.mean([iou(p, t) for p, t in pairs])),
                "boundary_f": float(np.mean([boundary_fscore(p, t) for p, t in pairs]))}


SEGMENTATION = SegmentationFamily()
