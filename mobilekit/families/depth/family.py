"""Depth family: portrait depth from one shared extractor and separately runnable heads (depth in
metres, foreground-person mask), exported as the modules `extractor`, `depth`, `portrait`, `main`."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Mapping

import numpy as np

from mobilekit.core.family import MAIN_MODULE, Example, MetricSpec, ModelFamily, Module, Split, TaskMetric, split_size
from mobilekit.core.registry import Registry
from mobilekit.data.sources import folder_fingerprint, source_handler
from mobilekit.core.tables import package_yaml
from mobilekit.core.tensors import ModelIO, TensorInfo
from mobilekit.families.depth.config import DepthOptions, DepthPreset
from mobilekit.families.depth.metrics import DEPTH_METRIC_BOUNDS, DEPTH_METRICS, aligned_absrel, all_metrics
from mobilekit.families.depth.samples import DepthSample

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig

NETWORK_STRIDE = 32
IMAGE_SCALE = 1.0 / 255.0
FEATURE_STRIDES = {"feat2": 2, "feat4": 4, "feat8": 8, "feat16": 16, "feat32": 32}
UNLABELLED = -1.0  # portrait target of a sample without a person mask: the mask loss ignores it

PRESETS: dict[str, DepthPreset] = {
    "tiny": DepthPreset(stem=8, stages=[(1, 8, 1, 2), (2, 12, 1, 2), (2, 16, 1, 2), (2, 24, 1, 2)],
                        depth_decoder=[16, 12, 8, 8], portrait_decoder=[8, 8]),
    "small": DepthPreset(stem=16, stages=[(1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 64, 3, 2), (4, 96, 2, 1), (4, 128, 2, 2)],
                         depth_decoder=[96, 48, 32], portrait_decoder=[32, 16]),
}

SOURCES: Registry[Callable] = Registry("depth data source")


@SOURCES.register("synthetic")
@source_handler(version=1)
def _synthetic(config: "BuildConfig", split: str, rng: np.random.Generator):
    from mobilekit.families.depth.synthetic import synthetic_depth_scene

    height, width = config.data.image_size
    while True:
        yield synthetic_depth_scene(rng, height, width)


@SOURCES.register("folders")
@source_handler(version=1, options=("depth.folders",), fingerprint=lambda c: folder_fingerprint(c.options.folders.root))
def _folders(config: "BuildConfig", split: str, rng: np.random.Generator):
    from mobilekit.data.sources import held_out
    from mobilekit.families.depth.folders import load_folder_pairs

    return held_out(list(load_folder_pairs(config.options.folders.root)), split, rng)


def _metric(name: str) -> MetricSpec:
    return MetricSpec(name, DEPTH_METRICS[name], "m" if name == "rmse" else "", DEPTH_METRIC_BOUNDS[name])  # type: ignore[arg-type]


def _portrait_agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    from mobilekit.families.depth.metrics import portrait_iou

    return portrait_iou(candidate, reference > 0.5)


def portrait_loss(y_true, y_pred):
    """The mask loss over samples that have a person mask (targets of unlabelled samples are -1)."""
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.families.depth.losses import mask_loss

    tf, _ = tf_and_keras()
    labelled = tf.cast(tf.reduce_min(y_true, axis=(1, 2, 3)) >= 0.0, tf.float32)
    return mask_loss(tf.maximum(y_true, 0.0), y_pred, labelled)


class DepthFamily(ModelFamily):
    name = "depth"
    options_type = DepthOptions
    preset_type = DepthPreset
    presets = PRESETS
    module_names = ("extractor", "depth", "portrait", MAIN_MODULE)
    sources = SOURCES
    example_storage = {"image": "unit8"}  # 8-bit photos (depth stays float32)
    metrics = tuple(_metric(n) for n in DEPTH_METRICS if n != "portrait_iou") + (MetricSpec("portrait_iou", "higher", bounds=(0.0, 1.0)),)
    task_metrics = {"depth": TaskMetric(MetricSpec("depth_absrel", "lower", bounds=(0.0, None)), aligned_absrel),
                    "portrait": TaskMetric(MetricSpec("portrait_iou", "higher", bounds=(0.0, 1.0)), _portrait_agreement)}

    @property
    def tolerances(self) -> Mapping[str, Any]:  # type: ignore[override]
        return package_yaml("mobilekit.families.depth", "tolerances.yaml")

    def validate_config(self, config: "BuildConfig") -> None:
        h, w = config.data.image_size
        if h % NETWORK_STRIDE or w % NETWORK_STRIDE:
            raise ValueError(f"data.image_size: {h}x{w} is not a multiple of {NETWORK_STRIDE} (the extractor's stride)")
        if config.data.source == "folders" and config.options.folders is None:
            raise ValueError("data.source: source 'folders' needs a 'depth.folders:' section")

    def io_for_size(self, height: int, width: int) -> ModelIO:
        return ModelIO(
            inputs=(TensorInfo("image", (1, height, width, 3), "RGB photo; pixel values scaled to [0, 1]", kind="image",
                               color_layout="RGB", normalization={"scale": IMAGE_SCALE, "bias": 0.0, "mean": [0.0] * 3, "std": [255.0] * 3}),),
            outputs=(TensorInfo("depth", (1, height, width, 1), "Depth in metres (relative ordering is what depth effects need)",
                                normalization={"unit": "m"}, value_range=(0.0, 100.0)),
                     TensorInfo("portrait", (1, height, width, 1), "Probability that the pixel belongs to the foreground person",
                                kind="mask", normalization={"range": [0.0, 1.0], "threshold": 0.5}, value_range=(0.0, 1.0),
                                labels=("person",))),
        )

    def build_model(self, config: "BuildConfig"):
        from mobilekit.families.depth.network import build_depth_net

        return build_depth_net(*config.data.image_size, self.presets[config.preset])

    def modules(self, config: "BuildConfig", model) -> tuple[Module, ...]:
        """extractor (image → the features at 1/2 (or 1/4) .. 1/32 its heads read), depth and portrait
        heads (features → output), main."""
        from mobilekit.families.depth.network import split_modules
        from mobilekit.nn.keras_io import keras_input_names

        h, w = config.data.image_size
        extractor, depth_head, portrait_head = split_modules(model)
        features = {name: TensorInfo(name, tuple(int(d) if d else 1 for d in extractor.output[name].shape), f"extractor features at 1/{s} resolution")
                    for name, s in FEATURE_STRIDES.items() if name in extractor.output}  # only the features a head reads
        features = {name: TensorInfo(name, (1, *info.shape[1:]), info.description) for name, info in features.items()}
        main = self.io_for_size(h, w)

        def head(model_, output: int) -> ModelIO:
            return ModelIO(tuple(features[n] for n in keras_input_names(model_)), (main.outputs[output],))

        return (Module("extractor", extractor, ModelIO(main.inputs, tuple(features.values()))),
                Module("depth", depth_head, head(depth_head, 0), ("extractor",)),
                Module("portrait", portrait_head, head(portrait_head, 1), ("extractor",)),
                Module(MAIN_MODULE, model, main))

    def iter_examples(self, config: "BuildConfig", split: Literal["train", "val", "parity"]) -> Iterator[Example]:
        """Image, depth (0 where invalid: the losses skip it) and portrait mask (`UNLABELLED` where the
        source has none) per sample."""
        from mobilekit.data.sources import iter_samples, split_rng
        from mobilekit.families.depth.augment import augment_depth, resize_depth_sample

        h, w = config.data.image_size
        rng = split_rng(config.seed + 1, split)
        source = iter_samples(self, config, split)
        for _ in range(split_size(config, split)):
            sample: DepthSample = next(source)
            if split == "train" and config.data.augment:
                sample = augment_depth(sample, rng, (h, w))
            elif sample.image.shape[:2] != (h, w):
                sample = resize_depth_sample(sample, (h, w))
            portrait = sample.portrait if sample.has_portrait else np.full((h, w), UNLABELLED)
            yield {"image": (sample.image * IMAGE_SCALE).astype(np.float32),
                   "depth": np.where(sample.valid, sample.depth, 0.0)[..., None].astype(np.float32),
                   "portrait": np.asarray(portrait, np.float32).reshape(h, w, 1)}

    def losses(self, config: "BuildConfig") -> Mapping[str, Any]:
        from mobilekit.families.depth.losses import depth_loss

        options: DepthOptions = config.options  # type: ignore[assignment]
        return {"depth": depth_loss(options.loss, options.gradient_weight), "portrait": portrait_loss}

    def loss_weights(self, config: "BuildConfig") -> Mapping[str, float]:
        return {"depth": 1.0, "portrait": config.options.portrait_weight}

    def evaluate(self, predict: Callable[[dict], dict], config: "BuildConfig") -> dict[str, float]:
        """Raw and aligned depth metrics and portrait IoU on the held-out split."""
        split = self.make_split(config, "val")
        outputs = _batched(predict, split.inputs)
        return self.score_outputs(outputs, split)

    def score_outputs(self, outputs: Mapping[str, np.ndarray], split: Split) -> dict[str, float]:
        target = split.targets["depth"]
        portrait = split.targets["portrait"]
        labelled = (portrait.reshape(len(portrait), -1).min(axis=1) >= 0).astype(np.float32)
        scores = all_metrics(outputs["depth"], target, target > 0, outputs["portrait"], portrait > 0.5, labelled)
        scores.setdefault("portrait_iou", float("nan"))
        return {k: float(v) for k, v in scores.items()}

    def predict(self, load_predictor: Callable[[], Any], *, image: Path, out: Path, focus: str | None = None,
                bokeh: Path | None = None, strength: float | None = None, max_radius: int = 12) -> dict[str, Any]:
        from mobilekit.families.depth.predict import predict_depth

        return predict_depth(load_predictor, image, out, focus=focus, bokeh_out=bokeh, strength=strength, max_radius=max_radius)


def _batched(predict: Callable[[dict], dict], inputs: dict[str, np.ndarray], batch: int = 1) -> dict[str, np.ndarray]:
    count = len(next(iter(inputs.values())))
    parts = [predict({k: v[i:i + batch] for k, v in inputs.items()}) for i in range(0, count, batch)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


DEPTH = DepthFamily()
