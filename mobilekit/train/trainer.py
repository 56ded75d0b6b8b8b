"""Training stage: seeded, deterministic tf_keras training with checkpoints and a stage cache."""
from __future__ import annotations

import contextlib
import inspect
import itertools
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mobilekit.core import cache
from mobilekit.core.config import BuildConfig
from mobilekit.core.errors import InputError
from mobilekit.core.family import ModelFamily, Split, get_family
from mobilekit.train.preflight import estimate_dataset, estimate_model, require_memory_within_limit
from mobilekit.train.distribute import Placement, backup_callback, cluster_from_env, placement, sharded_by_element
from mobilekit.train.streaming import StreamedTrainSplit

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


SHARED_TRAINING_CODE = ("core", "data", "nn", "train")  # shared packages whose source decides what training produces


def _family_code(family: ModelFamily) -> list[Path]:
    """The family's own source: its package folder under `mobilekit/families/`, or the module that
    defines it (a family registered from elsewhere, e.g. a test)."""
    source = Path(inspect.getsourcefile(type(family)) or "")
    root = Path(__file__).resolve().parents[1] / "families"
    if root in source.resolve().parents:
        package = root / source.resolve().relative_to(root).parts[0]
        return sorted(package.rglob("*.py"))
    return [source] if source.is_file() else []


def code_fingerprint(family: ModelFamily) -> str:
    """Hash of the source that builds, feeds and trains this family's models: the shared training
    layers and the family's own folder (so a new family never invalidates another's cache, and a
    changed architecture or data pipeline never reuses a stale cached model)."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    paths = [p for package in SHARED_TRAINING_CODE for p in sorted((root / package).rglob("*.py"))] + _family_code(family)
    for path in paths:
        name = path.resolve().relative_to(root).as_posix() if root in path.resolve().parents else path.name
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def training_key(config: BuildConfig) -> str:
    from mobilekit import __version__

    fields = (*TRAIN_FIELDS, config.family)  # the family's own section decides its data too
    return f"{config.subset_sha256(*fields)[:24]}-mk{__version__}-{code_fingerprint(get_family(config.family))}"


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
        if isinstance(outputs, dict):
            return outputs
        outputs = outputs if isinstance(outputs, list) else [outputs]
        return dict(zip(model.output_names, outputs))

    return predict


@dataclass
class _FitState:
    model: object
    split: Split
    config: BuildConfig
    total_steps: int
    progress: ProgressFn | None
    checkpoint_dir: Path | None
    step: object = None  # the family's TrainingStep, when it has one
    done: int = 0
    callbacks: list | None = None
    stream: object = None  # a StreamedTrainSplit when `data.stream` (then `split` is its hook pool)


def _fit_epoch_keras(state: _FitState, epoch: int) -> float:
    """One epoch of compile/fit on the family's per-output losses."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    if state.callbacks is None:
        state.callbacks = [_progress_callback(keras, state.total_steps, state.progress)]
        if state.checkpoint_dir is not None:
            state.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            state.callbacks.append(keras.callbacks.ModelCheckpoint(str(state.checkpoint_dir / "epoch-{epoch:03d}.weights.h5"),
                                                                   save_weights_only=True))
    if state.stream is not None:
        history = state.model.fit(state.stream.epoch_dataset(epoch), initial_epoch=epoch, epochs=epoch + 1, verbose=0,
                                  callbacks=state.callbacks)
    else:
        history = state.model.fit(state.split.inputs, state.split.targets, batch_size=state.config.training.batch_size,
                                  initial_epoch=epoch, epochs=epoch + 1, shuffle=True, verbose=0, callbacks=state.callbacks)
    return float(history.history["loss"][-1])


def _fit_epoch_custom(state: _FitState, epoch: int) -> float:
    """One epoch of the family's own training step over seeded shuffled batches."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    totals = []
    for inputs, targets in _custom_batches(state, epoch, tf):
        totals.append(float(state.step.step(inputs, targets)["loss"]))
        state.done += 1
        if state.progress:
            state.progress("train", state.done, state.total_steps)
    if state.checkpoint_dir is not None:
        state.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        state.model.save_weights(str(state.checkpoint_dir / f"epoch-{epoch + 1:03d}.weights.h5"))
    return float(np.mean(totals))


def _custom_batches(state: _FitState, epoch: int, tf):
    """Seeded shuffled batches of the split (or of the stream) as tensors by name."""
    if state.stream is not None:
        yield from state.stream.epoch_dataset(epoch)
        return
    batch = state.config.training.batch_size
    order = np.random.default_rng([state.config.seed, epoch]).permutation(len(state.split))
    for start in range(0, len(order), batch):
        index = np.sort(order[start:start + batch])
        yield ({k: tf.constant(v[index]) for k, v in state.split.inputs.items()},
               {k: tf.constant(v[index]) for k, v in state.split.targets.items()})


def _write_sidecar(out_dir: Path, sidecar: dict) -> None:
    """`model.json` beside the model: family, preset and the config it was trained with."""
    (out_dir / SIDECAR_FILE).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")


def _fit_all(config: BuildConfig, family: ModelFamily, train_split: Split | None, stream: StreamedTrainSplit | None,
             out_dir: Path, progress: ProgressFn | None, where: Placement) -> tuple[Any, list[float]]:
    """Build, compile and fit the model for every epoch, running the epoch hooks between epochs."""
    from mobilekit.core.tf import tf_and_keras

    tf, keras = tf_and_keras()
    count = len(stream) if stream is not None else len(train_split)
    steps = -(-count // config.training.batch_size) * config.training.epochs
    rate = config.training.learning_rate
    if config.training.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps, alpha=0.02)
    custom_step = family.training_step(config)
    if where.multi_worker and custom_step is not None:
        raise InputError(f"the {family.name} family trains with its own training step, which multi-worker training "
                         "(TF_CONFIG with several workers) does not run yet; train it on one machine")
    with where.strategy.scope():  # one CPU / GPU, or MultiWorkerMirroredStrategy from TF_CONFIG
        model = family.build_model(config)
        if custom_step is None:
            model.compile(optimizer=keras.optimizers.Adam(rate), loss=dict(family.losses(config)),
                          loss_weights=family.loss_weights(config))
        else:
            custom_step.build(model, config, rate)
    require_memory_within_limit(config, f"config {config.bundle.name!r}", estimate_model(config, model, estimate_dataset(config)))
    if where.multi_worker:
        return model, _fit_multi_worker(model, config, train_split, stream, out_dir, steps, progress)
    checkpoint_dir = out_dir / "checkpoints" if config.training.checkpoints else None
    hooks = family.epoch_hooks(config) if train_split is not None else ()  # streamed without a hook pool: none
    refresh_rng = np.random.default_rng([config.seed, 0x5EED])
    predict = _batch_predictor(model, config.training.batch_size * 4)
    fit = _fit_epoch_keras if custom_step is None else _fit_epoch_custom
    state = _FitState(model, train_split, config, steps, progress, checkpoint_dir, custom_step, stream=stream)
    losses: list[float] = []
    for epoch in range(config.training.epochs):
        losses.append(fit(state, epoch))
        if epoch + 1 < config.training.epochs:
            for hook in hooks:
                hook(predict, train_split, epoch, refresh_rng)
    if config.training.batchnorm_recalibration:
        _recalibrate(state, config.training.batchnorm_recalibration)
    return model, losses


def _recalibrate(state: _FitState, batches: int) -> None:
    """Re-estimate BatchNorm statistics on up to `batches` training batches (the split, or the
    stream's first epoch when training streams without an in-memory split)."""
    from mobilekit.nn.batchnorm import recalibrate_batchnorm

    batch = state.config.training.batch_size
    if state.split is not None:
        recalibrate_batchnorm(state.model, state.split.inputs, batch, batches)
        return
    parts = [inputs for inputs, _ in itertools.islice(iter(state.stream.epoch_dataset(0)), batches)]
    if parts:
        inputs = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
        recalibrate_batchnorm(state.model, inputs, batch, batches)


def _fit_multi_worker(model, config: BuildConfig, train_split: Split | None, stream: StreamedTrainSplit | None,
                      out_dir: Path, steps: int, progress: ProgressFn | None) -> list[float]:
    """All epochs in one `fit` with per-epoch `BackupAndRestore` (a restarted cluster resumes from
    the last completed epoch). Epoch hooks do not run: they would change the data between epochs
    on every worker at once, which the backup could not restore."""
    from mobilekit.core.tf import tf_and_keras

    tf, keras = tf_and_keras()
    if stream is not None:
        ds = stream.epoch_dataset(0)  # reshuffled on every pass
    else:
        arrays = (train_split.inputs, train_split.targets)
        ds = (tf.data.Dataset.from_tensor_slices(arrays).shuffle(len(train_split), seed=config.seed, reshuffle_each_iteration=True)
              .batch(config.training.batch_size))
    callbacks = [_progress_callback(keras, steps, progress), backup_callback(keras, out_dir)]
    history = model.fit(sharded_by_element(tf, ds), epochs=config.training.epochs, verbose=0, callbacks=callbacks)
    return [float(v) for v in history.history["loss"]]  # the epochs run here: fewer after a resume


def train(config: BuildConfig, out_dir: Path, *, progress: ProgressFn | None = None) -> TrainResult:
    """Train the configured family/preset and write `model.keras` + `model.json` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key = training_key(config)
    multi_worker = cluster_from_env()[0] > 1  # every worker must train: a cache hit on one would strand its peers
    if not multi_worker and (hit := cache.cached_dir("train", key)):
        shutil.copy2(hit / MODEL_FILE, out_dir / MODEL_FILE)
        meta = json.loads((hit / SIDECAR_FILE).read_text())
        _write_sidecar(out_dir, {**meta, "config": config.model_dump(mode="json")})
        return TrainResult(out_dir / MODEL_FILE, meta["params"], 0.0, True, meta.get("final_loss"))

    from mobilekit.core.tf import seed_everything

    where = placement()  # before any other TensorFlow op: collective ops are configured at start-up
    seed_everything(config.seed)
    family = get_family(config.family)
    require_memory_within_limit(config, f"config {config.bundle.name!r}", estimate_dataset(config))
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        stream = stack.enter_context(StreamedTrainSplit(family, config)) if config.data.stream else None
        train_split = family.make_split(config, "train") if stream is None else stream.pool
        model, losses = _fit_all(config, family, train_split, stream, out_dir, progress, where)
    seconds = time.perf_counter() - started
    final_loss = losses[-1]
    if not where.chief:  # every worker saves (saving may take part in collectives); only the chief's file stays
        scratch = out_dir / f".worker-{where.task_index}"
        scratch.mkdir(parents=True, exist_ok=True)
        model.save(scratch / MODEL_FILE)
        shutil.rmtree(scratch, ignore_errors=True)
        return TrainResult(out_dir / MODEL_FILE, int(model.count_params()), seconds, False, final_loss)
    shutil.rmtree(out_dir / "backup", ignore_errors=True)  # training completed: nothing left to resume
    model.save(out_dir / MODEL_FILE)
    sidecar = {
        "family": config.family,
        "preset": config.preset,
        "training_key": key,
        "params": int(model.count_params()),
        "final_loss": final_loss,
        "loss_history": losses,
        "workers": where.workers,
        "resumed_from_epoch": config.training.epochs - len(losses),  # > 0: a restarted cluster resumed from its backup
        "config": config.model_dump(mode="json"),
    }
    _write_sidecar(out_dir, sidecar)
    cache.store_files("train", key, [out_dir / MODEL_FILE, out_dir / SIDECAR_FILE])
    return TrainResult(out_dir / MODEL_FILE, sidecar["params"], seconds, False, final_loss)
