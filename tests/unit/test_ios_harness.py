"""Builds and tests the Swift package `ios_harness` (MobilekitQAHarness, the iOS device-QA harness)
when a Swift toolchain is installed: the XCTests (fixture index, float32 I/O, SHA-256, comparison,
pixel feed, golden replay) must pass and the Core ML DeviceFixtureTests must skip on Linux; then the
`mobilekit-qa-replay` CLI replays fixtures written by mobilekit.qa.fixture_format and its outputs
must satisfy `mobilekit.qa.ingest` (and a perturbed case must fail both, alone).
Cold run on a 2-core Linux box: ~8-9 s `swift build` + ~6-10 s `swift test` (which builds the test
targets; the tests themselves take ~1 s); ~20 s for this module in all, ~5 s warm."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.fake_manifest import fake_manifest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "ios_harness"

pytestmark = pytest.mark.skipif(shutil.which("swift") is None,
                                reason="no Swift toolchain on PATH (ios_harness needs `swift build` / `swift test`)")

H = W = 8
CASES = 3


def _run(cmd: list[str], timeout: int = 1200) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _tail(p: subprocess.CompletedProcess, n: int = 4000) -> str:
    return (p.stdout + p.stderr)[-n:]


@pytest.fixture(scope="module")
def replay_cli() -> Path:
    build = _run(["swift", "build", "--package-path", str(PKG)])
    assert build.returncode == 0, _tail(build)
    bin_dir = _run(["swift", "build", "--package-path", str(PKG), "--show-bin-path"])
    assert bin_dir.returncode == 0, _tail(bin_dir)
    exe = Path(bin_dir.stdout.strip().splitlines()[-1]) / "mobilekit-qa-replay"
    assert exe.is_file(), exe
    return exe


def test_swift_package_builds_and_xctests_pass(replay_cli):
    test = _run(["swift", "test", "--package-path", str(PKG)])
    out = test.stdout + test.stderr
    assert test.returncode == 0, _tail(test)
    totals = re.findall(r"Test Suite 'All tests' passed .*\n\s*Executed (\d+) tests?, with (?:(\d+) tests? skipped and )?(\d+) failures", out)
    assert totals, _tail(test)
    executed, _skipped, failures = totals[-1]
    assert int(executed) >= 30 and failures == "0", _tail(test)
    for suite in ("SHA256Tests", "FixtureIndexTests", "Float32IOTests", "OutputWriterTests", "ComparisonTests", "PixelFeedTests", "ReplayTests"):
        assert f"Test Suite '{suite}' passed" in out, suite
    if sys.platform.startswith("linux"):
        assert "DeviceFixtureTests.testEveryFixtureCasePassesWithCoreML' skipped" in out, _tail(test)
        assert "Core ML is not available on this platform" in out, _tail(test)


# --- the CLI on fixtures written by the Python side, judged by the Python ingest --------------------------

def _manifest() -> dict:
    return fake_manifest(H, W, platform="ios", target="coreml", path="models/fake.mlpackage", precision="fp16", runner="mil",
                         tolerance={"max_abs": 1e-3, "min_psnr": 40.0, "min_task_metric": 0.99})


@pytest.fixture()
def bundle(tmp_path) -> tuple[Path, Path]:
    """(staged bundle root holding fixtures/, the zipped bundle)."""
    from mobilekit.bundle.writer import write_manifest, zip_tree
    from mobilekit.qa.fixture_format import quantize_image_inputs, write_fixture_tree

    rng = np.random.default_rng(0)
    inputs = {"image": (rng.integers(0, 256, (CASES, H, W, 3)) * (1 / 255)).astype(np.float32),
              "clicks": rng.random((CASES, H, W, 2), dtype=np.float32)}
    mask = np.zeros((CASES, H, W, 1), np.float32)
    mask[:, 2:6, 2:6] = 0.9
    mask += rng.random(mask.shape, dtype=np.float32) * 0.05
    root = tmp_path / "stage"
    (root / "models" / "fake.mlpackage").mkdir(parents=True)
    (root / "models" / "fake.mlpackage" / "Manifest.json").write_text("{}")
    manifest = _manifest()
    write_fixture_tree(root, manifest, quantize_image_inputs(inputs, manifest["inputs"]), {"mask": mask})
    write_manifest(root, manifest)
    zip_tree(root, tmp_path / "fake-ios.zip")
    return root, tmp_path / "fake-ios.zip"


def _cli(exe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_replay_outputs_pass_qa_ingest_and_a_perturbed_case_fails_alone(replay_cli, bundle, tmp_path):
    from mobilekit.qa.ingest import ingest

    root, zipped = bundle
    good = tmp_path / "device-out"
    run = _cli(replay_cli, str(root), str(good), "--device", "ci-replay")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert [l.split(":")[0] for l in lines[:CASES]] == [f"✓ case-{i:03d}" for i in range(CASES)], run.stdout
    assert json.loads((good / "device.json").read_text()) == {
        "device": "ci-replay", "os": json.loads((good / "device.json").read_text())["os"],
        "runtime": "golden-replay", "artifact": "models/fake.mlpackage"}
    written = sorted(p.relative_to(good).as_posix() for p in good.rglob("*") if p.is_file())
    assert written == ["case-000/mask.bin", "case-001/mask.bin", "case-002/mask.bin", "device.json"]
    for i in range(CASES):  # byte-identical to the goldens
        assert (good / f"case-{i:03d}" / "mask.bin").read_bytes() == (root / "fixtures" / f"case-{i:03d}" / "expected" / "mask.bin").read_bytes()
    summary = ingest(zipped, good)
    assert summary["passed"] and summary["artifact"] == "models/fake.mlpackage" and summary["ignored_files"] == []
    assert summary["device"]["device"] == "ci-replay"

    bad = tmp_path / "device-out-perturbed"
    run = _cli(replay_cli, str(root / "fixtures"), str(bad), "--perturb", "case-001:mask:0.5")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "✗ case-001: mask: max_abs 0.5 > 0.001" in run.stdout, run.stdout
    assert "✓ case-000" in run.stdout and "✓ case-002" in run.stdout
    summary = ingest(zipped, bad)
    assert not summary["passed"] and summary["cases_failed"] == ["case-001"]


def test_replay_bad_input_exits_2_with_one_line_naming_the_file(replay_cli, bundle, tmp_path):
    root, _ = bundle
    member = root / "fixtures" / "case-002" / "inputs" / "clicks.bin"
    data = bytearray(member.read_bytes())
    data[0] ^= 0xFF
    member.write_bytes(bytes(data))
    run = _cli(replay_cli, str(root), str(tmp_path / "out"))
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "case-002/inputs/clicks.bin" in run.stderr and "sha256" in run.stderr, run.stderr
    (root / "fixtures" / "index.json").write_text(json.dumps({"format": "something-else", "format_version": 1}))
    run = _cli(replay_cli, str(root), str(tmp_path / "out"))
    assert run.returncode == 2 and "index.json" in run.stderr and "not mobilekit-device-fixtures version 1" in run.stderr, run.stderr
    run = _cli(replay_cli, str(root))
    assert run.returncode == 2 and "usage:" in run.stderr
