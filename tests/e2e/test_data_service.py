"""Remote preprocessing on tf.data service, on loopback: `mobilekit data-service dispatcher` and two
`worker`s as separate processes, a trainer reading its streamed dataset through them.

Checked against local preprocessing with the same seed: one epoch through the service yields every
example of the dataset exactly once with bit-identical tensors (the order differs: two workers
interleave their shards), and a tiny model trains a few steps from it."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from mobilekit.core.config import parse_config
from mobilekit.core.family import get_family

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "mobilekit", "data-service", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    line = proc.stdout.readline()  # printed once the server listens
    assert line, f"data-service {args[0]} did not start"
    return proc, line.strip()


@pytest.fixture()
def service():
    dispatcher, ready = _start("dispatcher", "--port", "0")
    address = re.search(r"grpc://(\S+)", ready).group(1)
    workers = [_start("worker", "--dispatcher", address)[0] for _ in range(2)]
    yield address
    for proc in (*workers, dispatcher):
        proc.kill()
        proc.wait()


def _config(tmp_path, service=None):
    return parse_config({"family": "segmentation", "preset": "tiny", "seed": 4,
                         "data": {"image_size": [32, 32], "train_samples": 24, "val_samples": 4, "parity_samples": 2,
                                  "stream": True, "cache_dir": str(tmp_path / "cache"), "shard_examples": 4,
                                  "hook_pool": 0, "service": service},
                         "training": {"epochs": 1, "batch_size": 4, "checkpoints": False},
                         "bundle": {"name": "service-test", "version": "0.1.0"}}, "test")


def _examples(config) -> Counter:
    from mobilekit.train.streaming import StreamedTrainSplit

    seen = Counter()
    with StreamedTrainSplit(get_family("segmentation"), config) as stream:
        for inputs, targets in stream.epoch_dataset(0):
            arrays = [inputs["image"].numpy(), inputs["clicks"].numpy(), targets["mask"].numpy()]
            for i in range(len(arrays[0])):
                seen[hashlib.sha256(b"".join(np.ascontiguousarray(a[i]).tobytes() for a in arrays)).hexdigest()] += 1
    return seen


def test_training_reads_its_dataset_through_tf_data_service_workers(service, tmp_path, monkeypatch):
    from mobilekit.train.trainer import train

    local = _examples(_config(tmp_path))
    assert sum(local.values()) == 24 and set(local.values()) == {1}
    remote = _examples(_config(tmp_path, service))
    assert remote == local  # every example once, the same bytes, preprocessed on the workers

    monkeypatch.setenv("MOBILEKIT_NO_CACHE", "1")
    result = train(_config(tmp_path, service), tmp_path / "run")
    assert np.isfinite(result.final_loss) and result.params > 0
