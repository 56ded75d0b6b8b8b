"""The Android device-QA harness's plain-Java core (android_assets/): compiled and unit-tested on the JVM
with javac + JUnit 4 (android_assets/run-jvm-tests.sh), then its golden replay (ReplayMain) plays the
device on a synthetic bundle and `qa ingest` judges what it wrote. The LiteRT binding under
android_assets/src/androidTest is compiled only in an Android build. About 8 s."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mobilekit.bundle.writer import write_manifest, zip_tree
from mobilekit.parity.metrics import compare_values
from mobilekit.qa.fixture_format import decode, quantize_image_inputs, write_fixture_tree
from mobilekit.qa.ingest import ingest
from tests.fake_manifest import fake_manifest

ASSETS = Path(__file__).resolve().parents[2] / "android_assets"
CLASSES = ASSETS / "harness-core" / "build" / "classes"
JUNIT_JAR = Path(os.environ.get("JUNIT_JAR", "/usr/share/java/junit4.jar"))
HAMCREST_JAR = Path(os.environ.get("HAMCREST_JAR", "/usr/share/java/hamcrest-core.jar"))
_MISSING = [what for what, ok in (("javac", shutil.which("javac")), ("java", shutil.which("java")),
                                  (str(JUNIT_JAR), JUNIT_JAR.is_file()), (str(HAMCREST_JAR), HAMCREST_JAR.is_file())) if not ok]

pytestmark = pytest.mark.skipif(bool(_MISSING), reason=f"missing {', '.join(_MISSING)}: the JVM tests of android_assets need a "
                                "JDK 17+ and JUnit 4 (apt-get install junit4 openjdk-17-jdk-headless)")

H = W = 4
CASES = 3


def _tail(p: subprocess.CompletedProcess, n: int = 4000) -> str:
    return (p.stdout + p.stderr)[-n:]


@pytest.fixture(scope="module")
def jvm_build() -> subprocess.CompletedProcess:
    """run-jvm-tests.sh once: compiles main + tests and runs JUnit; leaves build/classes for ReplayMain."""
    return subprocess.run([str(ASSETS / "run-jvm-tests.sh")], capture_output=True, text=True, timeout=240)


def _manifest() -> dict:
    return fake_manifest(H, W)


def _bundle(tmp_path: Path) -> tuple[Path, Path]:
    """A synthetic bundle with fixtures written by mobilekit itself; returns (zip, unzipped stage dir)."""
    rng = np.random.default_rng(0)
    inputs = {"image": (rng.integers(0, 256, (CASES, H, W, 3)) / 255).astype(np.float32),
              "clicks": rng.random((CASES, H, W, 2), dtype=np.float32)}
    mask = np.zeros((CASES, H, W, 1), np.float32)
    mask[:, 1:3, 1:3] = 0.9
    mask += rng.random(mask.shape, dtype=np.float32) * 0.05
    stage = tmp_path / "stage"
    (stage / "models").mkdir(parents=True)
    (stage / "models" / "fake.tflite").write_bytes(b"TFL3")
    manifest = _manifest()
    write_fixture_tree(stage, manifest, quantize_image_inputs(inputs, manifest["inputs"]), {"mask": mask})
    write_manifest(stage, manifest)
    zip_tree(stage, tmp_path / "fake.zip")
    return tmp_path / "fake.zip", stage


def _replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["java", "-cp", str(CLASSES), "ai.mobilekit.qa.harness.ReplayMain", *args],
                          capture_output=True, text=True, encoding="utf-8", timeout=60)


def test_jvm_unit_tests_pass(jvm_build):
    assert jvm_build.returncode == 0, _tail(jvm_build)
    found = re.search(r"^OK \((\d+) tests?\)", jvm_build.stdout, re.M)
    assert found, _tail(jvm_build)
    assert int(found.group(1)) >= 10, _tail(jvm_build)


def test_replay_outputs_are_what_qa_ingest_reads(jvm_build, tmp_path):
    assert jvm_build.returncode == 0, _tail(jvm_build)
    bundle, stage = _bundle(tmp_path)

    out = tmp_path / "device-out"
    p = _replay(str(stage), str(out), "--device", "JVM test")
    assert p.returncode == 0, _tail(p)
    assert p.stdout.count("✓ case-") == CASES, p.stdout
    expected = decode((stage / "fixtures/case-001/expected/mask.bin").read_bytes(), [1, H, W, 1])
    assert np.array_equal(decode((out / "case-001/mask.bin").read_bytes(), [1, H, W, 1]), expected)
    summary = ingest(bundle, out)
    assert summary["passed"], summary["cases"]
    assert summary["device"] == {"device": "JVM test", "os": summary["device"]["os"], "runtime": "golden-replay",
                                 "artifact": "models/fake.tflite", "compute_units": "cpu"}
    assert summary["ignored_files"] == []

    bad = tmp_path / "device-out-perturbed"
    p = _replay(str(stage / "fixtures"), str(bad), "--perturb", "case-001:mask:0.002")
    assert p.returncode == 1, _tail(p)
    line = next(text for text in p.stdout.splitlines() if text.startswith("✗ case-001"))
    summary = ingest(bundle, bad)
    assert not summary["passed"] and summary["cases_failed"] == ["case-001"]
    device = decode((bad / "case-001/mask.bin").read_bytes(), [1, H, W, 1])
    assert f"max_abs {compare_values(expected, device)['max_abs']:.3g} > 0.0001" in line, line

    p = _replay(str(tmp_path / "nowhere"), str(tmp_path / "x"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "nowhere" in p.stderr, _tail(p)
