"""Train a model set's models side by side before `build` stages them one by one.

One TensorFlow training keeps about 1.3 of 2 cores busy (input slicing, Python between steps), so a
set of several models trains faster in a few processes than in a row. Each process runs the same
`train.trainer.train` a sequential build would, into the training cache; the build then finds every
model there. Training is deterministic per process (seeded, op determinism), so the bundles are the
bytes a sequential build writes.

Only when the training cache is on (it carries the models across), on one machine (not with a
multi-worker TF_CONFIG) and for models not yet cached whose schedules are long enough to repay a
process start (`MIN_STEPS`). A process that fails leaves its model to the
sequential build, which trains it again in process and reports the error as usual.
`MOBILEKIT_TRAIN_JOBS` sets how many processes (default: one per core, at most one per model;
1 turns this off).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from mobilekit.core import cache

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig
    from mobilekit.core.progress import Reporter


MIN_STEPS = 200  # training steps below which a new process (importing TensorFlow: ~8 s) does not pay


def training_steps(config: "BuildConfig") -> int:
    return -(-config.data.train_samples // config.training.batch_size) * config.training.epochs


def train_jobs(pending: int) -> int:
    """How many training processes for `pending` uncached models."""
    raw = os.environ.get("MOBILEKIT_TRAIN_JOBS", "")
    jobs = int(raw) if raw.strip().isdigit() else (os.cpu_count() or 1)
    return max(1, min(jobs, pending))


def _exit_with_parent(parent: int) -> None:
    """Child start-up: a thread that ends this process once the build that started it is gone (killed
    or crashed), so no training outlives its build."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _train_one(data: dict, key: str, out_dir: str) -> str:
    """Child process: train into the cache (what `build` would do in process). The config travels
    as its validated JSON (family config classes are made at run time and do not pickle)."""
    from mobilekit.core.config import parse_config
    from mobilekit.train.trainer import train, training_key

    config = parse_config(data, f"model set entry {data['bundle']['name']!r}")
    if training_key(config) != key:  # never cache a model under a config it was not trained with
        raise RuntimeError(f"training key changed on the way to the training process: {key} != {training_key(config)}")
    train(config, Path(out_dir))
    return config.bundle.name


def pretrain(configs: Sequence["BuildConfig"], work: Path, reporter: "Reporter") -> list[str]:
    """Train the uncached models of `configs` in parallel processes (scratch under the run's `work`
    dir); the names trained."""
    from mobilekit.train.distribute import cluster_from_env
    from mobilekit.train.trainer import training_key

    if len(configs) < 2 or not cache.cache_enabled() or cluster_from_env()[0] > 1:
        return []
    pending = [c for c in configs if training_steps(c) >= MIN_STEPS and cache.cached_dir("train", training_key(c)) is None]
    jobs = train_jobs(len(pending))
    if jobs < 2:
        return []
    reporter.stage(f"training {', '.join(c.bundle.name for c in pending)} side by side ({jobs} processes)")
    done: list[str] = []
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))
    try:
        longest_first = sorted(pending, key=training_steps, reverse=True)
        futures = [pool.submit(_train_one, c.model_dump(mode="json"), training_key(c), str(work / "pretrain" / c.bundle.name))
                   for c in longest_first]
        for config, future in zip(longest_first, futures):
            try:
                done.append(future.result())
            except Exception as exc:  # the sequential build trains it again and reports the real error
                reporter.stage(f"side-by-side training of {config.bundle.name} failed ({type(exc).__name__}); "
                               "training it in this process")
    except BaseException:  # interrupted: stop the trainings now rather than wait for them
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return done
