"""Inpainting family: object removal. A generator (multi-column or partial-convolution U-Net) takes
a photo and a hole mask and returns the photo with the hole filled; around it, high-resolution
pipelines (`highres.py`) handle photos of 12 MP and more."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Mapping

import numpy as np

from mobilekit.core.family import Example, MetricSpec, ModelFamily, Split, TaskMetric, split_size
from mobilekit.core.registry import Registry
from mobilekit.core.tables import package_yaml
from mobilekit.core.tensors import ModelIO, TensorInfo
from mobilekit.data.sources import folder_fingerprint, source_handler
from mobilekit.families.inpainting.config import InpaintingOptions, InpaintingPreset
from mobilekit.families.inpainting.metrics import DIRECTIONS, EVAL_BUCKETS, PSNR_CAP, hole_psnr_agreement, metric_names

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig

IMAGE_SCALE = 1.0 / 255.0

PRESETS: dict[str, InpaintingPreset] = {
    "tiny": InpaintingPreset(generator="multicolumn", widths=[4, 8, 12], dilations=[2, 4], discriminator=[8, 16]),
    "small": InpaintingPreset(generator="multicolumn", widths=[8, 16, 32], dilations=[2, 4, 8]),
    "pconv-tiny": InpaintingPreset(generator="pconv", widths=[8, 12, 16], discriminator=[8, 16]),
    "pconv-small": InpaintingPreset(generator="pconv", widths=[24, 48, 96, 128, 128]),
}

SOURCES: Registry[Callable] = Registry("inpainting data source")


@SOURCES.register("synthetic")
@source_handler(version=1)
def _synthetic(config: "BuildConfig", split: str, rng: np.random.Generator):
    from mobilekit.families.inpainting.synthetic import synthetic_photo

    height, width = config.data.image_size
    while True:
        yield synthetic_photo(rng, height, width)


@SOURCES.register("folders")
@source_handler(version=1, options=("inpainting.folders",), fingerprint=lambda c: folder_fingerprint(c.options.folders.root))
def _folders(config: "BuildConfig", split: str, rng: np.random.Generator):
    from mobilekit.families.inpainting.photos import photo_crops

    return photo_crops(config.options.folders.root, split, rng, tuple(config.data.image_size))


def _sample_photos_fingerprint(config: "BuildConfig") -> str:
    from mobilekit.data.sample_photos import HELD_OUT, TRAINING, sample_photo_path

    return folder_fingerprint(*(sample_photo_path(n) for n in TRAINING + HELD_OUT))


@SOURCES.register("sample-photos")
@source_handler(version=1, fingerprint=_sample_photos_fingerprint)
def _sample_photos(config: "BuildConfig", split: str, rng: np.random.Generator):
    from mobilekit.families.inpainting.photos import sample_photo_crops

    return sample_photo_crops(split, rng, tuple(config.data.image_size))


def _metric(name: str) -> MetricSpec:
    base = next(m for m in DIRECTIONS if name.startswith(m))
    unit = "dB" if "psnr" in base else ""
    bounds = (0.0, PSNR_CAP) if "psnr" in base else (0.0, 1.0) if base == "hole_l1" else (-1.0, 1.0)
    return MetricSpec(name, DIRECTIONS[base], unit, bounds)  # type: ignore[arg-type]


class InpaintingFamily(ModelFamily):
    name = "inpainting"
    options_type = InpaintingOptions
    preset_type = InpaintingPreset
    presets = PRESETS
    sources = SOURCES
    example_options = ("inpainting.masks",)
    example_storage = {"image": "unit8", "mask": "unit8", "inpainted": "unit8"}
    metrics = tuple(_metric(n) for n in metric_names(EVAL_BUCKETS))
    task_metrics = {"inpainted": TaskMetric(MetricSpec("hole_psnr", "higher", "dB", (0.0, PSNR_CAP)), hole_psnr_agreement,
                                            uses_inputs=True)}

    @property
    def tolerances(self) -> Mapping[str, Any]:  # type: ignore[override]
        return package_yaml("mobilekit.families.inpainting", "tolerances.yaml")

    def validate_config(self, config: "BuildConfig") -> None:
        from mobilekit.families.inpainting.network import stride

        multiple = stride(self.presets[config.preset])
        h, w = config.data.image_size
        if h % multiple or w % multiple:
            raise ValueError(f"data.image_size: {h}x{w} is not a multiple of {multiple} (the {config.preset} generator's stride)")
        if min(h, w) < 32:
            raise ValueError(f"data.image_size: {h}x{w} is too small; the discriminators need at least 32x32")
        if config.data.source == "folders" and config.options.folders is None:
            raise ValueError("data.source: source 'folders' needs an 'inpainting.folders:' section with a root")
        for lo, hi in config.options.masks.buckets:
            if not 0.0 <= lo < hi <= 0.9:
                raise ValueError(f"inpainting.masks.buckets: [{lo}, {hi}] must satisfy 0 <= low < high <= 0.9")

    def io_for_size(self, height: int, width: int) -> ModelIO:
        return ModelIO(
            inputs=(TensorInfo("image", (1, height, width, 3), "RGB photo; pixel values scaled to [0, 1] (hole content is ignored)",
                               kind="image", color_layout="RGB",
                               normalization={"scale": IMAGE_SCALE, "bias": 0.0, "mean": [0.0] * 3, "std": [255.0] * 3}),
                    TensorInfo("mask", (1, height, width, 1), "Hole to fill: 1 inside, 0 outside", kind="mask",
                               normalization={"range": [0.0, 1.0], "threshold": 0.5}, value_range=(0.0, 1.0), labels=("hole",))),
            outputs=(TensorInfo("inpainted", (1, height, width, 3), "The photo with the hole filled, RGB in [0, 1]; "
                                "pixels outside the hole are the input's", color_layout="RGB", value_range=(0.0, 1.0)),),
        )

    def build_model(self, config: "BuildConfig"):
        from mobilekit.families.inpainting.network import build_generator

        return build_generator(*config.data.image_size, self.presets[config.preset])

    def iter_examples(self, config: "BuildConfig", split: Literal["train", "val", "parity"]) -> Iterator[Example]:
        """Photo, free-form hole (training: buckets of `inpainting.masks`; val/parity: the standard
        0–10 / 10–30 / 30–50 % buckets in turn) and the photo as the target."""
        from mobilekit.data.sources import iter_samples, split_rng
        from mobilekit.families.inpainting.masks import free_form_mask

        h, w = config.data.image_size
        options: InpaintingOptions = config.options  # type: ignore[assignment]
        buckets = options.masks.buckets if split == "train" else EVAL_BUCKETS
        rng = split_rng(config.seed + 7, split)
        source = iter_samples(self, config, split)
        for i in range(split_size(config, split)):
            photo = next(source)
            mask = free_form_mask(rng, h, w, tuple(buckets[i % len(buckets)]), options.masks.kinds)
            image = (photo * IMAGE_SCALE).astype(np.float32)
            yield {"image": image, "mask": mask[..., None].astype(np.float32), "inpainted": image}

    def losses(self, config: "BuildConfig") -> Mapping[str, Any]:
        return {"inpainted": "mae"}  # what fine-tuning passes use: L1 of the completion (the hole, in effect)

    def training_step(self, config: "BuildConfig"):
        from mobilekit.families.inpainting.training import AdversarialInpaintingStep

        return AdversarialInpaintingStep(config.options, self.presets[config.preset])  # type: ignore[arg-type]

    def evaluate(self, predict: Callable[[dict], dict], config: "BuildConfig") -> dict[str, float]:
        split = self.make_split(config, "val")
        count = len(split)
        parts = [predict({k: v[i:i + 1] for k, v in split.inputs.items()}) for i in range(count)]
        return self.score_outputs({"inpainted": np.concatenate([p["inpainted"] for p in parts])}, split)

    def score_outputs(self, outputs: Mapping[str, np.ndarray], split: Split) -> dict[str, float]:
        from mobilekit.families.inpainting.metrics import score_batch

        return score_batch(np.asarray(outputs["inpainted"], np.float32), split.targets["inpainted"], split.inputs["mask"])

    def predict(self, load_predictor: Callable[[], Any], *, image: Path, mask: Path, out: Path,
                highres: str = "both") -> dict[str, Any]:
        from mobilekit.families.inpainting.predict import predict_inpaint

        return predict_inpaint(load_predictor, image, mask, out, strategy=highres)


INPAINTING = InpaintingFamily()
