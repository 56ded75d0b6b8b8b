"""Training stage: seeded, deterministic tf_keras training with checkpoints and a stage cache."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from mobilekit.core import cache
from mobilekit.core.config import BuildConfig
from mobilekit.models import get_family

MODEL_FILE = "model.keras"
SIDECAR_FILE = "model.json"
TRAIN_FIELDS = ("family", "preset", "seed", "data", "training")

ProgressFn = Callable[[str, int, int], None]  # (description, done, total)


@dataclass(frozen=True)
class TrainResult:
    model_path: Path
    params: int
    seconds: float
    cached: bool
    final_loss: float | None


TRAINING_CODE = ("models", "data", "train")  # packages whose source decides what training produces


def code_fingerprint() -> str:
    """Hash of the source that builds, feeds and trains models, so a changed architecture or
    data pipeline never reuses a stale cached model (the package version alone would)."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in TRAINING_CODE:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def training_key(config: BuildConfig) -> str:
    from mobilekit import __version__

    return f"{config.subset_sha256(*TRAIN_FIELDS)[:24]}-mk{__version__}-{code_fingerprint()}"


def _progress_callback(keras, total_steps: int, progress: ProgressFn | None):
    class _Cb(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.step = 0

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            if progress:
                progress("train", self.step, total_steps)

    return _Cb()


def _batch_predictor(model, batch_size: int):
    """predict(inputs) -> {output name: array} over a whole split, in inference mode."""

    def predict(inputs: dict) -> dict:
        outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        return dict(zip(model.output_names, outputs))

    return predict


def _write_sidecar(out_dir: Path, sidecar: dict) -> None:
    """`model.json` beside the model: family, preset and the config it was trained with."""
    (out_dir / SIDECAR_FILE).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")


def train(config: BuildConfig, out_dir: Path, *, progress: ProgressFn | None = None) -> TrainResult:
    """Train the configured family/preset and write `model.keras` + `model.json` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key = training_key(config)
    if hit := cache.cached_dir("train", key):
        shutil.copy2(hit / MODEL_FILE, out_dir / MODEL_FILE)
        meta = json.loads((hit / SIDECAR_FILE).read_text())
        _write_sidecar(out_dir, {**meta, "config": config.model_dump(mode="json")})
        return TrainResult(out_dir / MODEL_FILE, meta["params"], 0.0, True, meta.get("final_loss"))

    from mobilekit.core.tf import seed_everything, tf_and_keras

    tf, keras = tf_and_keras()
    seed_everything(config.seed)
    family = get_family(config.family)
    started = time.perf_counter()
    train_split = family.make_split(config, "train")
    steps = -(-len(train_split) // config.training.batch_size) * config.training.epochs
    rate = config.training.learning_rate
    if config.training.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps, alpha=0.02)
    with tf.distribute.get_strategy().scope():  # the default strategy: CPU, or the GPU when present
        model = family.build_model(config)
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=family.loss())
    callbacks = [_progress_callback(keras, steps, progress)]
    if config.training.checkpoints:
        (out_dir / "checkpoints").mkdir(exist_ok=True)
        callbacks.append(keras.callbacks.ModelCheckpoint(str(out_dir / "checkpoints" / "epoch-{epoch:03d}.weights.h5"), save_weights_only=True))
    losses: list[float] = []
    refresh_rng = np.random.default_rng([config.seed, 0x5EED])
    predict = _batch_predictor(model, config.training.batch_size * 4)
    for epoch in range(config.training.epochs):
        history = model.fit(train_split.inputs, train_split.targets, batch_size=config.training.batch_size,
                            initial_epoch=epoch, epochs=epoch + 1, shuffle=True, verbose=0, callbacks=callbacks)
        losses += [float(v) for v in history.history["loss"]]
        if epoch + 1 < config.training.epochs:
            family.refresh_split(predict, train_split, epoch, refresh_rng)
    seconds = time.perf_counter() - started
    final_loss = losses[-1]
    model.save(out_dir / MODEL_FILE)
    sidecar = {
        "family": config.family,
        "preset": config.preset,
        "training_key": key,
        "params": int(model.count_params()),
        "final_loss": final_loss,
        "loss_history": losses,
        "config": config.model_dump(mode="json"),
    }
    _write_sidecar(out_dir, sidecar)
    cache.store_files("train", key, [out_dir / MODEL_FILE, out_dir / SIDECAR_FILE])
    return TrainResult(out_dir / MODEL_FILE, sidecar["params"], seconds, False, final_loss)
