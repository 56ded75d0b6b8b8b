"""Where training runs: one CPU or GPU (TensorFlow's default strategy), or several workers with
`MultiWorkerMirroredStrategy` when `TF_CONFIG` names a cluster of two or more tasks.

The same config trains the same model on any of them, beyond floating-point summation order:
`training.batch_size` is the *global* batch (tf.distribute splits each batch across the replicas
and all-reduces the gradients), and the data order is the seeded single-machine order, sharded
by element. Multi-worker runs checkpoint every epoch with `BackupAndRestore`: when a worker dies,
the others stop with an error; start the cluster's processes again (the same command and
TF_CONFIG) and training resumes from the last completed epoch instead of from scratch."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Placement:
    strategy: Any
    workers: int = 1
    task_index: int = 0

    @property
    def multi_worker(self) -> bool:
        return self.workers > 1

    @property
    def chief(self) -> bool:
        """The worker that writes the model and the stage cache (task 0)."""
        return self.task_index == 0


def cluster_from_env() -> tuple[int, int]:
    """(workers, this task's index) from TF_CONFIG; (1, 0) without one."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 1, 0
    try:
        spec = json.loads(raw)
        workers = len(spec["cluster"].get("worker", [])) + len(spec["cluster"].get("chief", []))
        task = spec["task"]
        index = int(task["index"]) + (len(spec["cluster"].get("chief", [])) if task["type"] == "worker" else 0)
    except (ValueError, KeyError, TypeError) as exc:
        from mobilekit.core.errors import InputError

        raise InputError(f"TF_CONFIG: not a tf.distribute cluster spec ({exc}); accepted: "
                         '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": N}}') from None
    return max(1, workers), index


def placement() -> Placement:
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    workers, index = cluster_from_env()
    if workers < 2:
        return Placement(tf.distribute.get_strategy())
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=120.0)
    return Placement(tf.distribute.MultiWorkerMirroredStrategy(communication_options=options), workers, index)


def backup_callback(keras, out_dir: Path):
    """Per-epoch backup a restarted cluster resumes from (kept until training completes)."""
    return keras.callbacks.BackupAndRestore(backup_dir=str(out_dir / "backup"), save_freq="epoch", delete_checkpoint=True)


def sharded_by_element(tf, ds):
    """Shard a dataset across workers element by element (its source is not split by file)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
