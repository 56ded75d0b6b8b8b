"""A model set's side-by-side trainings end with their build: killed (SIGTERM, no handler runs) or
interrupted (SIGINT), the build leaves no training process behind and publishes nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads child processes from /proc")


def _model_set(tmp_path: Path) -> Path:
    """Two tiny models with schedules long enough (>= 200 steps) to train side by side."""
    paths = []
    for name, epochs in (("segmentation-tiny", 60), ("inpainting-tiny", 40)):
        data = yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text())
        data["training"]["epochs"] = epochs
        paths.append(tmp_path / f"{name}.yaml")
        paths[-1].write_text(yaml.safe_dump(data))
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump({"bundle": {"name": "two", "version": "1.0.0"}, "models": [str(p) for p in paths]}))
    return path


def _training_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), None)
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0)


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopped_set_build_leaves_no_training_behind(tmp_path, how):
    out = tmp_path / "dist"
    env = {**os.environ, "MOBILEKIT_TRAIN_JOBS": "2", "MOBILEKIT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "mobilekit", "build", "android", "--config", str(_model_set(tmp_path)),
                             "--out", str(out), "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    children: list[int] = []
    while len(children) < 2 or min(_rss_mb(pid) for pid in children) < 600:  # TensorFlow loaded: training
        assert proc.poll() is None and time.time() < deadline, "the side-by-side trainings never started"
        time.sleep(0.5)
        children = _training_children(proc.pid)
    proc.send_signal(how)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    waited = time.time() + 20
    while any(_alive(pid) for pid in children) and time.time() < waited:
        time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)], "training processes outlived their build"
    assert not list(out.glob("*.zip"))
