"""The dataset cache across processes: two builders of one dataset build it once and share it; a build
killed mid-way is never reported ready, and the next build completes it with the bytes a clean build
writes. Each process is a real `mobilekit dataset build` (about 6 s of start-up each)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

CONFIG = {"family": "segmentation", "preset": "tiny", "seed": 3,
          "data": {"image_size": [32, 32], "train_samples": 48, "val_samples": 8, "parity_samples": 4},
          "bundle": {"name": "dataset-test", "version": "0.1.0"}}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def _cli(*args: str, cache: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mobilekit", "dataset", *args, "--cache", str(cache), "--json"],
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _json(proc: subprocess.Popen, timeout: float = 300) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def _listing(cache: Path) -> list[dict]:
    return _json(_cli("list", cache=cache))["datasets"]


def test_two_processes_building_one_dataset_build_it_once(tmp_path):
    config, cache = _config(tmp_path), tmp_path / "cache"
    build = ("build", "--config", str(config), "--split", "train", "--shard-examples", "8")
    first = _cli(*build, cache=cache, MOBILEKIT_FAULT_PAUSE="dataset-shard-written:0.7")  # 6 shards: >= 4 s
    deadline = time.time() + 120
    while not list(cache.glob("*/progress.json")):  # the first process is building
        assert first.poll() is None and time.time() < deadline, "the first build never started"
        time.sleep(0.1)
    second = _cli(*build, cache=cache)
    a, b = _json(first)["datasets"][0], _json(second)["datasets"][0]
    assert a["built"] and not b["built"], (a, b)  # exactly one build; the other waited and reused it
    assert a["id"] == b["id"] and a["path"] == b["path"]
    listing = _listing(cache)
    assert [d["id"] for d in listing] == [a["id"]] and listing[0]["state"] == "ready" and listing[0]["count"] == 48
    index = json.loads((Path(a["path"]) / "index.json").read_text())
    assert index["created"]["pid"] == first.pid and len(index["shards"]) == 6


def test_a_killed_build_is_never_ready_and_the_next_build_completes_it(tmp_path):
    config, cache, clean = _config(tmp_path), tmp_path / "cache", tmp_path / "clean"
    build = ("build", "--config", str(config), "--split", "train", "--shard-examples", "16")
    killed = _cli(*build, cache=cache, MOBILEKIT_FAULT_AT="dataset-shard-written")
    killed.communicate(timeout=300)
    assert killed.returncode == -9
    (entry,) = _listing(cache)
    assert entry["state"] == "incomplete" and entry["progress"]["written"] == 16 and entry["count"] is None

    resumed = _json(_cli(*build, cache=cache))["datasets"][0]
    assert resumed["built"] and resumed["resumed_shards"] == 1
    (entry,) = _listing(cache)
    assert entry["state"] == "ready" and entry["count"] == 48
    fresh = _json(_cli(*build, cache=clean))["datasets"][0]
    shards = lambda path: json.loads((Path(path) / "index.json").read_text())["shards"]  # noqa: E731
    assert shards(resumed["path"]) == shards(fresh["path"])  # same bytes as a build never interrupted
    assert not list(Path(resumed["path"]).glob("*.tmp-*")) and not (Path(resumed["path"]) / "progress.json").exists()
