"""The family contract holds for a family written only here: a shared trunk and two heads (one
lower-is-better regression, one higher-is-better mask), trained by its own training step with an
auxiliary critic that is never exported. It trains, converts every module for both targets,
passes parity, runs a two-variant sweep inside `build` and bundles; then an SDK model set holding
it and the tiny segmentation model builds deterministic, verifiable bundles. Nothing outside this
file knows the family."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest
import yaml

import mobilekit  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from mobilekit.core.config import FamilyOptions, Strict
from mobilekit.core.family import FAMILIES, MAIN_MODULE, MetricSpec, ModelFamily, Module, Split, TaskMetric, split_size
from mobilekit.core.registry import Registry
from mobilekit.core.tensors import ModelIO, TensorInfo
from mobilekit.data.sources import iter_samples, source_handler, split_rng

REPO = Path(__file__).resolve().parents[2]
SIZE = 16
FEATURES = 8


class ToyOptions(FamilyOptions):
    critic_weight: float = 0.05


class ToyPreset(Strict):
    width: int


SOURCES: Registry = Registry("toy data source")


@SOURCES.register("synthetic")
@source_handler(version=1)
def _squares(config, split: str, rng: np.random.Generator):
    """A bright square of random size and place on a dark noisy background."""
    while True:
        image = rng.uniform(0.0, 0.3, (SIZE, SIZE, 3)).astype(np.float32)
        side, y, x = int(rng.integers(4, 10)), int(rng.integers(0, 6)), int(rng.integers(0, 6))
        mask = np.zeros((SIZE, SIZE, 1), np.float32)
        mask[y:y + side, x:x + side] = 1.0
        image[mask[..., 0] > 0] += 0.6
        yield image, mask


def _mae(reference: np.ndarray, candidate: np.ndarray) -> float:
    return float(np.mean(np.abs(reference - candidate)))


def _agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    return float(np.mean((reference > 0.5) == (candidate > 0.5)))


class CriticStep:
    """A custom training step: L1 on the level, BCE on the mask, plus a critic (never exported)
    that tries to tell predicted masks from true ones and whose judgement the model is trained against."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def build(self, model, config, learning_rate) -> None:
        from mobilekit.core.tf import tf_and_keras

        tf, keras = tf_and_keras()
        self.model = model
        inputs = keras.Input((SIZE, SIZE, 1))
        self.critic = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))))
        self.opt, self.critic_opt = keras.optimizers.Adam(learning_rate), keras.optimizers.Adam(1e-3)
        bce = keras.losses.BinaryCrossentropy(from_logits=True)

        @tf.function
        def step(inputs, targets):
            with tf.GradientTape(persistent=True) as tape:
                out = model(inputs, training=True)
                fake, real = self.critic(out["mask"], training=True), self.critic(targets["mask"], training=True)
                critic_loss = bce(tf.ones_like(real), real) + bce(tf.zeros_like(fake), fake)
                task = tf.reduce_mean(tf.abs(out["level"] - targets["level"])) + tf.reduce_mean(
                    keras.losses.binary_crossentropy(targets["mask"], out["mask"]))
                loss = task + self.weight * bce(tf.ones_like(fake), fake)
            self.opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            self.critic_opt.apply_gradients(zip(tape.gradient(critic_loss, self.critic.trainable_variables),
                                                self.critic.trainable_variables))
            return {"loss": loss, "critic": critic_loss}

        self._step = step

    def step(self, inputs, targets):
        return self._step(inputs, targets)


class ToyFamily(ModelFamily):
    name = "toy"
    options_type = ToyOptions
    preset_type = ToyPreset
    presets = {"tiny": ToyPreset(width=8)}
    module_names = ("trunk", "level_head", "mask_head", MAIN_MODULE)
    sources = SOURCES
    metrics = (MetricSpec("level_mae", "lower", bounds=(0.0, None)), MetricSpec("mask_accuracy", "higher", bounds=(0.0, 1.0)))
    task_metrics = {"level": TaskMetric(MetricSpec("level_mae", "lower", bounds=(0.0, None)), _mae),
                    "mask": TaskMetric(MetricSpec("mask_agreement", "higher", bounds=(0.0, 1.0)), _agreement)}
    tolerances = {target: {n: {"max_abs": 1e-4} if n == "fp32" else {"min_psnr": 20.0} for n in numerics}
                  for target, numerics in (("coreml", ("fp32", "fp16", "w8", "lowbit")), ("tflite", ("fp32", "fp16", "w8", "int8")),
                                           ("onnx", ("fp32", "fp16")))}

    def io_for_size(self, height: int, width: int) -> ModelIO:
        return ModelIO((TensorInfo("image", (1, height, width, 3), "RGB in [0, 1]"),),
                       (TensorInfo("level", (1, 1), "mean brightness of the square"),
                        TensorInfo("mask", (1, height, width, 1), "square mask", kind="mask", value_range=(0.0, 1.0), labels=("square",))))

    def _heads(self, keras, features, width):
        level = keras.layers.Dense(1, name="level")(keras.layers.GlobalAveragePooling2D(name="pool")(features))
        mask = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="mask")(features)
        return level, mask

    def build_model(self, config):
        from mobilekit.core.tf import tf_and_keras

        _, keras = tf_and_keras()
        width = self.presets[config.preset].width
        image = keras.Input((SIZE, SIZE, 3), name="image")
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="trunk_conv")(image)
        features = keras.layers.Conv2D(FEATURES, 3, padding="same", activation="relu", name="features")(x)
        level, mask = self._heads(keras, features, width)
        return keras.Model(image, {"level": level, "mask": mask}, name="toy")

    def modules(self, config, model) -> tuple[Module, ...]:
        from mobilekit.core.tf import tf_and_keras

        _, keras = tf_and_keras()
        features_info = TensorInfo("features", (1, SIZE, SIZE, FEATURES), "shared trunk features")
        trunk = keras.Model(model.input, {"features": model.get_layer("features").output}, name="trunk")
        head_inputs = keras.Input((SIZE, SIZE, FEATURES), name="features")
        level = model.get_layer("level")(model.get_layer("pool")(head_inputs))
        level_head = keras.Model(head_inputs, {"level": level}, name="level_head")
        mask_inputs = keras.Input((SIZE, SIZE, FEATURES), name="features")
        mask_head = keras.Model(mask_inputs, {"mask": model.get_layer("mask")(mask_inputs)}, name="mask_head")
        main = self.io(config)
        return (Module("trunk", trunk, ModelIO(main.inputs, (features_info,))),
                Module("level_head", level_head, ModelIO((features_info,), (main.outputs[0],)), ("trunk",)),
                Module("mask_head", mask_head, ModelIO((features_info,), (main.outputs[1],)), ("trunk",)),
                Module(MAIN_MODULE, model, main))

    def iter_examples(self, config, split):
        source = iter_samples(self, config, split)
        split_rng(config.seed, split)  # the shared helper is usable from a family's own code
        for _ in range(split_size(config, split)):
            image, mask = next(source)
            yield {"image": image, "level": np.array([image.mean()], np.float32), "mask": mask}

    def losses(self, config) -> Mapping[str, Any]:
        return {"level": "mae", "mask": "binary_crossentropy"}

    def training_step(self, config):
        return CriticStep(config.options.critic_weight)

    def evaluate(self, predict, config) -> dict[str, float]:
        split = self.make_split(config, "val")
        return self.score_outputs(predict(split.inputs), split)

    def score_outputs(self, outputs, split) -> dict[str, float]:
        return {"level_mae": _mae(split.targets["level"], outputs["level"]),
                "mask_accuracy": _agreement(split.targets["mask"], outputs["mask"])}


FAMILIES.register("toy", ToyFamily(), override=True)


def _config(tmp: Path, select: bool) -> Path:
    data = {"family": "toy", "preset": "tiny", "seed": 5, "bundle": {"name": "toy-two-heads", "version": "0.2.0"},
            "data": {"image_size": [SIZE, SIZE], "train_samples": 128, "val_samples": 16, "parity_samples": 3},
            "training": {"epochs": 10, "batch_size": 16, "learning_rate": 0.01, "checkpoints": False},
            "targets": {"coreml": {"compute_precision": "fp32"}},
            "toy": {"critic_weight": 0.05}}
    if select:
        data["optimize"] = {"select": "smallest_within_budget", "variants": ["coreml-fp16", "tflite-dynamic-int8"],
                            "budget": {"metric": "level_mae", "max_drop": 0.05}}
    path = tmp / ("toy-select.yaml" if select else "toy.yaml")
    path.write_text(yaml.safe_dump(data))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_module_family_trains_converts_sweeps_and_bundles(tmp_path):
    from mobilekit.bundle.reader import verify_bundle
    from mobilekit.pipeline.build import build

    result = build("all", _config(tmp_path, select=True), tmp_path / "dist")
    assert result.parity_passed and not result.not_verified, result.parity
    # parity_complete only when every gate ran the real runtime: not for Core ML on Linux (MIL executor)
    assert result.parity_complete == (not result.emulated)
    assert all(k.startswith("ios/") for k in result.emulated)
    quality = result.models["toy-two-heads"]["quality"]
    assert quality["mask_accuracy"] > 0.9 and quality["level_mae"] < 0.05, quality  # better than all-background (~0.81)
    sweep = json.loads((tmp_path / "dist" / "reports" / "toy-two-heads-0.2.0" / "sweep" / "sweep.json").read_text())
    assert sweep["budget"]["direction"] == "lower" and {v["name"] for v in sweep["variants"]} == {"coreml-fp16", "tflite-dynamic-int8"}
    assert sweep["selected"] == {"coreml": "coreml-fp16", "tflite": "tflite-dynamic-int8"}
    for bundle in result.bundles:
        assert verify_bundle(bundle).ok
        manifest = json.loads(zipfile.ZipFile(bundle).read("manifest.json"))
        modules = {m["name"]: m for m in manifest["modules"]}
        assert set(modules) == {"trunk", "level_head", "mask_head", MAIN_MODULE}
        assert modules["level_head"]["feeds"] == ["trunk"] and [t["name"] for t in modules["level_head"]["inputs"]] == ["features"]
        assert all(len(m["artifacts"]) == 1 for m in modules.values())
        assert len(manifest["artifacts"]) == 4 and all(entry["status"] == "passed" for entry in manifest["parity"].values())
        heads = [e for p, e in manifest["parity"].items() if "level_head" in p]
        assert heads[0]["task_metrics"][0]["name"] == "level_mae"  # the head's own output carries the task metric
        assert all(a["details"].get("variant") for a in manifest["artifacts"])  # every module from the selected variant


def test_model_set_holds_both_models_verifies_and_is_deterministic(tmp_path):
    from mobilekit.bundle.reader import verify_bundle
    from mobilekit.pipeline.build import build

    toy = _config(tmp_path, select=False)
    model_set = tmp_path / "sdk.yaml"
    model_set.write_text(yaml.safe_dump({"bundle": {"name": "sdk-set", "version": "1.0.0", "description": "two models"},
                                         "models": [str(toy), str(REPO / "configs" / "segmentation-tiny.yaml")]}))
    first = build("all", model_set, tmp_path / "a")
    second = build("android", model_set, tmp_path / "b")  # trained models from the cache; conversions redone
    assert [p.name for p in first.bundles] == ["sdk-set-1.0.0-ios.zip", "sdk-set-1.0.0-android.zip"]
    assert _sha(first.bundles[1]) == _sha(second.bundles[0])
    assert set(first.models) == {"toy-two-heads", "object-select-tiny"}
    for bundle in first.bundles:
        assert verify_bundle(bundle).ok, verify_bundle(bundle).problems
        manifest = json.loads(zipfile.ZipFile(bundle).read("manifest.json"))
        assert manifest["kind"] == "model-set" and [m["name"] for m in manifest["models"]] == ["toy-two-heads", "object-select-tiny"]
        names = zipfile.ZipFile(bundle).namelist()
        for section in manifest["models"]:
            assert section["parity_passed"] and all(a["path"].startswith(section["root"]) for a in section["artifacts"])
            assert f"{section['root']}parity/parity.json" in names


@pytest.mark.parametrize("family", ["toy"])
def test_toy_family_satisfies_the_generated_contract(family):
    """The same checks the registry-generated contract test runs for the built-in families."""
    from tests.family_contract import check_family_contract

    check_family_contract(FAMILIES.get(family), _config_obj())


def _config_obj():
    import tempfile

    from mobilekit.core.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        return load_config(_config(Path(tmp), select=False))[0]
