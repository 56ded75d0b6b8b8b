"""Segmentation family: click-guided object selection (Xu et al. 2016 inputs)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Mapping, Sequence

import numpy as np

from mobilekit.core.tables import package_yaml
from mobilekit.core.family import MAIN_MODULE, EpochHook, Example, MetricSpec, Module, ModelFamily, Split, TaskMetric, split_size
from mobilekit.core.tensors import ModelIO, TensorInfo
from mobilekit.families.segmentation.clicks import (CLICK_TRUNCATE, Click, ClickSampling, encoded_clicks, next_click,
                                                    simulate_corrective_clicks, simulate_training_clicks)
from mobilekit.families.segmentation.config import SegmentationOptions, SegmentationPreset, SplitPreset
from mobilekit.families.segmentation.predict import predict_mask
from mobilekit.families.segmentation.sources import SOURCES

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig

IMAGE_SCALE = 1.0 / 255.0
NETWORK_STRIDE = 16  # the encoder downsamples by 16: image sizes must be multiples of it
# How training clicks are made: (strategy, share). The evaluation protocol's first click alone;
# first click plus corrective clicks on a perturbed prediction; Xu et al.'s random sampling.
CLICK_STRATEGIES = (("first", 0.35), ("corrective", 0.35), ("xu2016", 0.30))
ITERATIVE_SHARE = 0.3  # share of training samples that get a model-placed corrective click after an epoch
ITERATIVE_FROM_EPOCH = 2
ITERATIVE_MAX_CLICKS = 12

PRESETS: dict[str, SegmentationPreset | SplitPreset] = {
    "tiny": SegmentationPreset(stem=8, stages=[(4, 8, 1), (8, 16, 1), (12, 24, 1)], context=24, refine=[16, 12, 8, 8], head=8),  # 48k
    "small": SegmentationPreset(stem=24, stages=[(16, 48, 2), (24, 96, 2), (40, 128, 2)], context=128, refine=[48, 32, 24, 16], head=16),  # 0.86M
    "base": SegmentationPreset(stem=48, stages=[(32, 128, 2), (48, 192, 3), (96, 320, 3)], context=256, refine=[128, 96, 48, 32], head=32),  # 5.3M
    # image encoder once per photo + click decoder per tap (network_split.py)
    "split-tiny": SplitPreset(stem=8, stages=[(1, 8, 1, 1), (2, 12, 1, 2), (2, 16, 1, 2), (2, 24, 1, 2)], embed=8, decoder=[16, 12, 8]),
    "split-small": SplitPreset(stem=32, stages=[(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)],
                               embed=32, decoder=[96, 48, 32]),
    # the same encoder as Keras' MobileNetV2 (width 1.0) layers: `segmentation.pretrained` weights load into it
    "split-mnv2": SplitPreset(backbone="mobilenet_v2", alpha=1.0, embed=32, decoder=[96, 48, 32]),
}
SPLIT_MODULES = ("encoder", "decoder", MAIN_MODULE)
ENCODER_OUTPUT_DESCRIPTIONS = {
    "enc2": "image features at 1/2 resolution", "enc4": "image features at 1/4 resolution", "enc8": "image features at 1/8 resolution",
    "enc16": "image features at 1/16 resolution (with dilated context)",
    "embed8": "unit-norm embedding at 1/8 resolution (click similarity)", "embed16": "unit-norm embedding at 1/16 resolution (click similarity)",
}


def mask_iou(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean IoU of thresholded masks, case by case (the parity task metric)."""
    from mobilekit.families.segmentation.metrics import iou

    return float(np.mean([iou(c, r) for r, c in zip(reference[..., 0] > 0.5, candidate[..., 0] > 0.5)]))


def pretrained_weights(config: "BuildConfig") -> str:
    """`segmentation.pretrained.weights` as Keras takes it: "imagenet" or the file's path."""
    weights = config.options.pretrained.weights
    return weights if weights == "imagenet" else str(Path(weights).expanduser())


def check_pretrained(config: "BuildConfig", preset: Any) -> None:
    """`segmentation.pretrained` fits the preset, and a weights file exists and matches its sha256."""
    pretrained = config.options.pretrained
    if pretrained is None:
        return
    if getattr(preset, "backbone", None) != "mobilenet_v2":
        raise ValueError(f"segmentation.pretrained: preset '{config.preset}' has no MobileNetV2 encoder; "
                         f"use a split preset with backbone mobilenet_v2 ({', '.join(n for n, p in PRESETS.items() if getattr(p, 'backbone', '') == 'mobilenet_v2')})")
    if pretrained.weights == "imagenet":
        return
    import hashlib

    path = Path(pretrained_weights(config))
    if not path.is_file():
        raise ValueError(f"segmentation.pretrained.weights: {path} is not a file (accepted: 'imagenet' or a MobileNetV2 .h5 weights file)")
    if pretrained.sha256 is None:
        raise ValueError("segmentation.pretrained.sha256: required with a weights file (it pins the weights the training cache follows)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != pretrained.sha256:
        raise ValueError(f"segmentation.pretrained.sha256: {path} has sha256 {digest}, not the {pretrained.sha256} the config pins")


def _pick_strategy(rng: np.random.Generator) -> str:
    names, shares = zip(*CLICK_STRATEGIES)
    return names[int(rng.choice(len(names), p=np.asarray(shares) / sum(shares)))]


def iterative_clicks(predict: Callable[[dict], dict], split: Split, epoch: int, rng: np.random.Generator) -> None:
    """Iterative click training (as in RITM, Sofiiuk et al. 2022): for a share of the training
    samples, run the current model and add the evaluation protocol's next click on its own
    errors, so the model learns to respond to corrective clicks (negatives on confused
    neighbours especially). Deterministic for a seed."""
    chosen = np.flatnonzero(rng.random(len(split)) < ITERATIVE_SHARE)
    if epoch + 1 < ITERATIVE_FROM_EPOCH or not len(chosen):
        return
    masks = predict({name: array[chosen] for name, array in split.inputs.items()})["mask"][..., 0] > 0.5
    targets = split.targets["mask"]
    height, width = targets.shape[1:3]
    for index, pred in zip(chosen, masks):
        clicks = split.extras["clicks"][index]
        click = next_click(pred, targets[index, ..., 0] > 0.5)
        if click is None or len(clicks) >= ITERATIVE_MAX_CLICKS:
            continue
        clicks.append(click)
        split.inputs["clicks"][index] = encoded_clicks(clicks, height, width)


class SegmentationFamily(ModelFamily):
    name = "segmentation"
    options_type = SegmentationOptions
    preset_type = SegmentationPreset
    presets = PRESETS
    sources = SOURCES
    example_options = ("segmentation.clicks",)
    example_storage = {"image": "unit8", "clicks": "unit16", "mask": "unit8"}  # 8-bit photos and masks; click distances to 1/65535
    metrics = (MetricSpec("iou", "higher", bounds=(0.0, 1.0)), MetricSpec("boundary_f", "higher", bounds=(0.0, 1.0)))
    task_metrics = {"mask": TaskMetric(MetricSpec("mask_iou", "higher", bounds=(0.0, 1.0)), mask_iou)}

    @property
    def tolerances(self) -> Mapping[str, Any]:  # type: ignore[override]
        return package_yaml("mobilekit.families.segmentation", "tolerances.yaml")

    def validate_config(self, config: "BuildConfig") -> None:
        h, w = config.data.image_size
        if h % NETWORK_STRIDE or w % NETWORK_STRIDE:
            raise ValueError(f"data.image_size: {h}x{w} is not a multiple of {NETWORK_STRIDE} (the network's stride)")
        check_pretrained(config, self.presets[config.preset])
        source = config.data.source
        if source in ("coco", "folders") and getattr(config.options, source) is None:
            raise ValueError(f"data.source: source '{source}' needs a 'segmentation.{source}:' section")

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
            outputs=(TensorInfo("mask", (1, h, w, 1), "Probability that the pixel belongs to the selected object", kind="mask",
                                normalization={"range": [0.0, 1.0], "threshold": 0.5}, value_range=(0.0, 1.0), labels=("object",)),),
        )

    def module_names_for(self, config: "BuildConfig") -> tuple[str, ...]:
        return SPLIT_MODULES if self.presets[config.preset].architecture == "split" else (MAIN_MODULE,)

    def build_model(self, config: "BuildConfig"):
        h, w = config.data.image_size
        preset = self.presets[config.preset]
        if preset.architecture == "split":
            from mobilekit.families.segmentation.network_split import build_split_net, load_pretrained_backbone

            model = build_split_net(h, w, preset)
            if config.options.pretrained is not None:
                load_pretrained_backbone(model, preset, pretrained_weights(config))
            return model
        from mobilekit.families.segmentation.network import build_segmentation_net

        return build_segmentation_net(h, w, preset)

    def modules(self, config: "BuildConfig", model) -> tuple[Module, ...]:
        """Fusion presets: the model alone. Split presets: `encoder` (image -> features, once per
        photo), `decoder` (features + clicks -> mask, per tap) and `main` (end to end)."""
        main = self.io(config)
        if self.presets[config.preset].architecture != "split":
            return (Module(MAIN_MODULE, model, main),)
        from mobilekit.families.segmentation.network_split import split_modules
        from mobilekit.nn.keras_io import keras_input_names, keras_output_names

        encoder, decoder = split_modules(model)
        features = {name: TensorInfo(name, (1, *(int(d) for d in encoder.output[name].shape[1:])), ENCODER_OUTPUT_DESCRIPTIONS[name])
                    for name in keras_output_names(encoder)}
        return (Module("encoder", encoder, ModelIO(main.inputs[:1], tuple(features.values()))),
                Module("decoder", decoder, ModelIO(tuple(features[n] if n in features else main.inputs[1] for n in keras_input_names(decoder)),
                                                   main.outputs), ("encoder",)),
                Module(MAIN_MODULE, model, main))

    def iter_examples(self, config: "BuildConfig", split: Literal["train", "val", "parity"]) -> Iterator[Example]:
        """Image, click maps and target mask per sample; `extra/clicks` holds the clicks as (y, x, positive) rows."""
        from mobilekit.data.sources import iter_samples, split_rng
        from mobilekit.families.segmentation.augment import Augmentation, augment, resize_sample

        h, w = config.data.image_size
        rng = split_rng(config.seed + 1, split)
        sampling = ClickSampling(**config.options.clicks.model_dump()).scaled(h, w)
        source = iter_samples(self, config, split)
        for _ in range(split_size(config, split)):
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
            yield {"image": (sample.image * IMAGE_SCALE).astype(np.float32),
                   "clicks": encoded_clicks(sample_clicks, h, w).astype(np.float32),
                   "mask": sample.target[..., None].astype(np.float32),
                   "extra/clicks": np.array([(c.y, c.x, c.positive) for c in sample_clicks], np.int32).reshape(-1, 3)}

    def assemble_split(self, config: "BuildConfig", examples: Sequence[Example]) -> Split:
        split = super().assemble_split(config, examples)
        split.extras["clicks"] = [[Click(int(y), int(x), bool(p)) for y, x, p in rows] for rows in split.extras["clicks"]]
        return split

    def losses(self, config: "BuildConfig") -> Mapping[str, Any]:
        from mobilekit.families.segmentation.losses import bce_dice_loss

        return {"mask": bce_dice_loss}

    def epoch_hooks(self, config: "BuildConfig") -> Sequence[EpochHook]:
        return (iterative_clicks,)

    def evaluate(self, predict: Callable[[dict], dict], config: "BuildConfig") -> dict[str, float]:
        """IoU after the first simulated click, boundary F, and NoC@85/90 (Xu et al. protocol)."""
        from mobilekit.families.segmentation.metrics import boundary_fscore, iou, number_of_clicks, summarize_noc

        split = self.make_split(config, "val")
        ious, fscores, nocs = [], [], []
        for image, target in zip(split.inputs["image"], split.targets["mask"][..., 0] > 0.5):
            first = predict_mask(predict, image, [next_click(np.zeros_like(target), target)]) > 0.5
            ious.append(iou(first, target))
            fscores.append(boundary_fscore(first, target))
            nocs.append(number_of_clicks(lambda clicks: predict_mask(predict, image, clicks), target))
        return {"iou": float(np.mean(ious)), "boundary_f": float(np.mean(fscores)), **summarize_noc(nocs)}

    def predict(self, load_predictor: Callable[[], Any], *, image: Path, clicks: list[str], out: Path,
                soft: bool = False, upsample: str = "guided") -> dict[str, Any]:
        from mobilekit.families.segmentation.predict import predict_segmentation

        return predict_segmentation(load_predictor, image, clicks, out, soft=soft, upsample=upsample)

    def score_outputs(self, outputs: Mapping[str, np.ndarray], split: Split) -> dict[str, float]:
        """IoU and boundary F of thresholded masks; on the val split (first click) the IoU equals
        `evaluate`'s first-click IoU."""
        from mobilekit.families.segmentation.metrics import boundary_fscore, iou

        pairs = list(zip(outputs["mask"][..., 0] > 0.5, split.targets["mask"][..., 0] > 0.5))
        return {"iou": float(np.mean([iou(p, t) for p, t in pairs])),
                "boundary_f": float(np.mean([boundary_fscore(p, t) for p, t in pairs]))}


SEGMENTATION = SegmentationFamily()
