"""Two-worker `MultiWorkerMirroredStrategy` training on loopback (`mobilekit train` twice, with
TF_CONFIG): one worker is killed after the first per-epoch backup, the surviving worker stops with
an error (a collective cannot complete without its peer), the cluster's processes are started
again, and training resumes from the backup instead of from epoch 0."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import yaml

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]
EPOCHS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _worker(config, out, ports, index) -> subprocess.Popen:
    tf_config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "MOBILEKIT_NO_CACHE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "mobilekit", "train", "--config", str(config), "--out", str(out), "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_worker_is_restarted_and_training_resumes_from_the_backup(tmp_path):
    config = tmp_path / "mw.yaml"
    config.write_text(yaml.safe_dump({
        "family": "segmentation", "preset": "tiny", "seed": 1,
        "data": {"image_size": [32, 32], "train_samples": 96, "val_samples": 4, "parity_samples": 2},
        "training": {"epochs": EPOCHS, "batch_size": 8, "checkpoints": False},
        "bundle": {"name": "multi-worker", "version": "0.1.0"}}))
    out, ports = tmp_path / "run", [_free_port(), _free_port()]  # one --out: the backup is shared storage
    workers = [_worker(config, out, ports, i) for i in range(2)]
    deadline = time.time() + 600
    while not list((out / "backup").rglob("checkpoint")):  # the first epoch's backup is written
        assert all(w.poll() is None for w in workers) and time.time() < deadline, [w.stderr.read()[-2000:] for w in workers]
        time.sleep(0.2)
    workers[1].send_signal(signal.SIGKILL)
    assert workers[1].wait(60) == -9
    survivor = workers[0].wait(300)  # its next all-reduce fails without the peer
    assert survivor != 0, "the surviving worker finished without its peer"
    assert not (out / "model.keras").exists()

    restarted = [_worker(config, out, ports, i) for i in range(2)]
    outputs = [w.communicate(timeout=600) for w in restarted]
    assert [w.returncode for w in restarted] == [0, 0], [err[-3000:] for _, err in outputs]
    sidecar = json.loads((out / "model.json").read_text())
    assert sidecar["workers"] == 2 and 1 <= sidecar["resumed_from_epoch"] < EPOCHS, sidecar
    assert len(sidecar["loss_history"]) == EPOCHS - sidecar["resumed_from_epoch"]
    assert not (out / "backup").exists()  # removed once training completed
