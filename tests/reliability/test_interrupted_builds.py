"""Builds killed with SIGKILL at several points keep the previous bundle and its reports intact; the next
build removes the dead runs' temporaries (in --out and the temp dir) and succeeds; two builds into the
same --out at once both finish with a valid bundle. Slow: about ten tiny android builds."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import TINY

from mobilekit.bundle.reader import read_manifest, verify_bundle

pytestmark = pytest.mark.slow
BUNDLE = "object-select-tiny-0.1.0-android.zip"


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _config(tmp_path: Path, seed: int) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["seed"] = seed
    path = tmp_path / f"seed{seed}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _build(config: Path, out: Path, temp: Path, **env: str) -> subprocess.Popen:
    full = {**os.environ, "TMPDIR": str(temp), **env}
    return subprocess.Popen([sys.executable, "-m", "mobilekit", "build", "android", "--config", str(config), "--out", str(out)],
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _leftovers(out: Path, temp: Path) -> list[str]:
    found = [p.name for p in out.iterdir() if p.name.startswith(".")]
    return found + [p.name for p in temp.iterdir() if p.name.startswith("mobilekit-build-")]


def test_killed_builds_keep_the_last_good_bundle_and_reports_and_the_next_run_cleans_up(tmp_path):
    out, temp = tmp_path / "dist", tmp_path / "tmp"
    temp.mkdir()
    good = _build(TINY, out, temp)
    assert good.wait(900) == 0, good.stderr.read()[-3000:]
    bundle_before = (out / BUNDLE).read_bytes()
    reports_before = _tree_digest(out / "reports")
    other = _config(tmp_path, seed=11)  # a different model under the same bundle name

    # killed while training (from outside), then at each fault point before anything is published
    proc = _build(other, out, temp, MOBILEKIT_NO_CACHE="1")
    for line in proc.stderr:
        if "training" in line:
            break
    time.sleep(2)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(60) == -signal.SIGKILL
    for point in ("before-zip", "zip-written"):
        proc = _build(other, out, temp, MOBILEKIT_FAULT_AT=point)
        assert proc.wait(900) == -signal.SIGKILL, (point, proc.stderr.read()[-3000:])
        assert (out / BUNDLE).read_bytes() == bundle_before, point
        assert _tree_digest(out / "reports") == reports_before, point
        assert verify_bundle(out / BUNDLE).ok
    left = _leftovers(out, temp)
    assert any(name.endswith(".partial") for name in left) and any(name.startswith("mobilekit-build-") for name in left), left

    again = _build(other, out, temp)
    assert again.wait(900) == 0, again.stderr.read()[-3000:]
    assert _leftovers(out, temp) == []  # the dead runs' partial zip, staging, locks and work dirs are gone
    assert verify_bundle(out / BUNDLE).ok and (out / BUNDLE).read_bytes() != bundle_before
    from mobilekit.core.config import load_config

    assert read_manifest(out / BUNDLE)["config_sha256"] == load_config(other)[0].sha256()
    assert _tree_digest(out / "reports") != reports_before  # the new good build's reports replaced the old ones


def test_two_builds_into_the_same_out_at_once_both_publish_valid_bundles(tmp_path):
    out, temp = tmp_path / "dist", tmp_path / "tmp"
    temp.mkdir()
    configs = [_config(tmp_path, seed) for seed in (21, 22)]
    procs = [_build(c, out, temp) for c in configs]
    for proc in procs:
        assert proc.wait(900) == 0, proc.stderr.read()[-3000:]
    assert verify_bundle(out / BUNDLE).ok
    from mobilekit.core.config import load_config

    shas = {load_config(c)[0].sha256() for c in configs}
    assert read_manifest(out / BUNDLE)["config_sha256"] in shas  # one complete result, never a mix
    assert _leftovers(out, temp) == []
    assert (out / "reports" / "object-select-tiny-0.1.0" / "parity.json").is_file()
