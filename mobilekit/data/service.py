"""tf.data service processes: one dispatcher and any number of workers (TensorFlow's own
`DispatchServer` / `WorkerServer`). A training config naming the dispatcher (`data.service:
host:port`) moves reading, parsing and shuffling of its streamed dataset onto the workers."""
from __future__ import annotations

from typing import Callable


def run_dispatcher(port: int, *, work_dir: str | None = None, on_ready: Callable[[str], None] = print) -> None:
    """Serve as dispatcher until killed. With `work_dir` its journal survives a restart
    (fault-tolerant mode), so workers and trainers reconnect to the same jobs."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    service = tf.data.experimental.service
    config = service.DispatcherConfig(port=port, work_dir=work_dir, fault_tolerant_mode=bool(work_dir))
    server = service.DispatchServer(config)
    on_ready(server.target)
    server.join()


def run_worker(dispatcher: str, port: int, *, worker_address: str | None = None,
               on_ready: Callable[[str], None] = print) -> None:
    """Serve as a worker of `dispatcher` (host:port) until killed."""
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    service = tf.data.experimental.service
    config = service.WorkerConfig(dispatcher_address=dispatcher.removeprefix("grpc://"), port=port,
                                  **({"worker_address": worker_address} if worker_address else {}))
    server = service.WorkerServer(config)
    on_ready(f"worker of {dispatcher}")
    server.join()
