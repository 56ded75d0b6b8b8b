"""Shared fixtures: an isolated cache, and a tiny end-to-end build made once per session."""
from __future__ import annotations

import fcntl
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import mobilekit  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "segmentation-tiny.yaml"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    os.environ["MOBILEKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    # builds convert and gate for real in every test; tests/e2e/test_build_cache.py turns reuse back on
    os.environ["MOBILEKIT_NO_BUILD_CACHE"] = "1"
    yield


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mobilekit", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


def run_cli_in_process(*args: str) -> subprocess.CompletedProcess:
    """`run_cli` without a new interpreter (for commands that never touch TensorFlow, e.g. `bundle`):
    same stdout / stderr / return code, about 1.5 s faster a call."""
    from typer.testing import CliRunner

    from mobilekit.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["mobilekit", *args], result.exit_code, result.stdout, result.stderr)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory):
    """`build all` on the tiny config with fresh training (no cache): (BuildResult, out dir). Made
    once per run: pytest-xdist workers share it through their common base temp dir (the first
    builds it under a lock, the others read its pickled result)."""
    from mobilekit.pipeline.build import build

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this run
    shared = root / "tiny-build"
    with open(root / "tiny-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "result.pickle"
        if done.is_file():
            return pickle.loads(done.read_bytes())
        out = shared / "dist"
        out.mkdir(parents=True, exist_ok=True)
        previous = os.environ.get("MOBILEKIT_NO_CACHE")
        os.environ["MOBILEKIT_NO_CACHE"] = "1"
        try:
            result = build("all", TINY, out)
        finally:
            os.environ.pop("MOBILEKIT_NO_CACHE") if previous is None else os.environ.__setitem__("MOBILEKIT_NO_CACHE", previous)
        done.write_bytes(pickle.dumps((result, out)))
    return result, out
