"""Device QA end to end on the tiny bundles: fixtures into a bundle, a simulated device run, ingest."""
from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, TINY, last_json, run_cli


@pytest.fixture(scope="module")
def android_fixtures(tiny_build, tmp_path_factory):
    """`parity fixtures` on the android bundle (re-trains the reference from the tiny config)."""
    _, out = tiny_build
    dest = tmp_path_factory.mktemp("qa") / "android-fixtures.zip"
    proc = run_cli("parity", "fixtures", "--bundle", str(out / "object-select-tiny-0.1.0-android.zip"),
                   "--config", str(TINY), "--out", str(dest), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = last_json(proc.stdout)
    assert summary["self_check"]["models/object-select-tiny.tflite"]["status"] == "passed"
    return dest


def _index(bundle):
    with zipfile.ZipFile(bundle) as zf:
        return json.loads(zf.read("fixtures/index.json")), zf


def _run_like_a_device(bundle, out_dir, perturb_case=None):
    """What the Android test app does: read each case's input .bin files, run the bundled .tflite
    through LiteRT's serving_default signature, write <case>/<output>.bin."""
    from ai_edge_litert.interpreter import Interpreter

    with zipfile.ZipFile(bundle) as zf:
        index = json.loads(zf.read("fixtures/index.json"))
        (model_path,) = [p for p in index["tolerances"] if p.endswith(".tflite")]
        model = out_dir.parent / "model.tflite"
        model.write_bytes(zf.read(model_path))
        runner = Interpreter(model_path=str(model), num_threads=1).get_signature_runner("serving_default")
        for n, case in enumerate(index["cases"]):
            feeds = {t["name"]: np.frombuffer(zf.read("fixtures/" + t["file"]), "<f4").reshape(t["shape"])
                     for t in case["tensors"] if t["role"] == "input"}
            for name, value in runner(**feeds).items():
                value = np.asarray(value, dtype="<f4")
                if n == perturb_case:
                    value = value + np.float32(0.01)
                (out_dir / case["id"]).mkdir(parents=True, exist_ok=True)
                (out_dir / case["id"] / f"{name}.bin").write_bytes(value.tobytes())
    (out_dir / "device.json").write_text(json.dumps({"device": "linux-litert", "runtime": "litert-xnnpack", "artifact": model_path}))
    return out_dir


def test_fixture_bundle_verifies_and_holds_the_documented_layout(android_fixtures, tiny_build):
    _, out = tiny_build
    ok = run_cli("bundle", "verify", str(android_fixtures), "--json")
    assert ok.returncode == 0 and last_json(ok.stdout)["ok"] is True
    index, _ = _index(android_fixtures)
    assert index["bundle"]["platform"] == "android" and len(index["cases"]) == 4  # tiny parity_samples
    assert index["tolerances"]["models/object-select-tiny.tflite"]["tolerance"]["max_abs"] == 1e-4
    with zipfile.ZipFile(android_fixtures) as new, zipfile.ZipFile(out / "object-select-tiny-0.1.0-android.zip") as old:
        added = sorted(set(new.namelist()) - set(old.namelist()))
        assert added == sorted(["fixtures/index.json"] + [f"fixtures/case-00{i}/{d}.bin" for i in range(4)
                                                            for d in ("inputs/image", "inputs/clicks", "expected/mask")])
        for name in old.namelist():  # everything else is carried over unchanged
            if name != "manifest.json":
                assert new.read(name) == old.read(name), name


def test_fixtures_are_deterministic_from_config_or_reference_model(android_fixtures, tmp_path):
    """Re-running on the fixtures bundle gives the same bytes; so does `--reference` with the trained model."""
    from mobilekit.core.config import load_config
    from mobilekit.qa.fixtures import add_fixtures
    from mobilekit.train.trainer import train

    again = tmp_path / "again.zip"  # in place (no --out) on a copy: replaced atomically, same bytes
    again.write_bytes(android_fixtures.read_bytes())
    add_fixtures(again, config_path=TINY, self_check=False)
    assert again.read_bytes() == android_fixtures.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.zip"]  # no partial files left beside it
    trained = train(load_config(TINY)[0], tmp_path / "train")
    via_reference = tmp_path / "via-reference.zip"
    add_fixtures(android_fixtures, reference=trained.model_path, out=via_reference, self_check=False)
    assert via_reference.read_bytes() == android_fixtures.read_bytes()


def test_ingest_passes_on_a_device_run_and_on_goldens_and_fails_on_perturbed_outputs(android_fixtures, tmp_path):
    device = _run_like_a_device(android_fixtures, tmp_path / "device")
    ok = run_cli("qa", "ingest", "--bundle", str(android_fixtures), "--outputs", str(device), "--json",
                 "--report-dir", str(tmp_path / "ok-report"))
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    summary = last_json(ok.stdout)
    assert summary["passed"] and summary["device"]["device"] == "linux-litert" and summary["cases_total"] == 4
    assert summary["overall"]["outputs"][0]["max_abs"] <= 1e-4 and summary["overall"]["task_metric"]["value"] >= 0.999

    goldens = tmp_path / "goldens"  # outputs equal to the goldens pass exactly
    index, _ = _index(android_fixtures)
    with zipfile.ZipFile(android_fixtures) as zf:
        for case in index["cases"]:
            (goldens / case["id"]).mkdir(parents=True)
            for t in case["tensors"]:
                if t["role"] == "expected":
                    (goldens / case["id"] / f"{t['name']}.bin").write_bytes(zf.read("fixtures/" + t["file"]))
    exact = run_cli("parity", "ingest", "--bundle", str(android_fixtures), "--outputs", str(goldens), "--json")
    assert exact.returncode == 0 and last_json(exact.stdout)["overall"]["outputs"][0]["max_abs"] == 0.0

    perturbed = _run_like_a_device(android_fixtures, tmp_path / "perturbed", perturb_case=2)
    bad = run_cli("parity", "ingest", "--bundle", str(android_fixtures), "--outputs", str(perturbed),
                  "--report-dir", str(tmp_path / "bad-report"))
    assert bad.returncode == 1, bad.stdout[-3000:] + bad.stderr[-3000:]
    assert "✗ case-002: values of mask: max_abs 0.01 > 0.0001" in bad.stdout and "FAILED: 3/4" in bad.stdout
    report = json.loads((tmp_path / "bad-report" / "parity.json").read_text())
    failing = sorted(title for title, entry in report.items() if entry["status"] == "failed")
    assert failing == [t for t in sorted(report) if t.endswith("all cases") or t.endswith("case-002")]
    assert "case-002" in (tmp_path / "bad-report" / "junit.xml").read_text()

    (perturbed / "case-001" / "mask.bin").write_bytes(b"\0" * 100)
    corrupt = run_cli("qa", "ingest", "--bundle", str(android_fixtures), "--outputs", str(perturbed), "--json")
    assert corrupt.returncode == 2
    assert "case-001/mask.bin: 100 bytes, expected 16384" in last_json(corrupt.stdout)["error"]


@pytest.fixture(scope="module")
def ios_fixtures(tiny_build, tmp_path_factory):
    """`qa fixtures` (in process) on the iOS bundle: (bundle, summary)."""
    from mobilekit.qa.fixtures import add_fixtures

    _, out = tiny_build
    dest = tmp_path_factory.mktemp("qa-ios") / "ios.zip"
    return dest, add_fixtures(out / "object-select-tiny-0.1.0-ios.zip", config_path=TINY, out=dest)


def test_ios_fixtures_self_check_the_core_ml_package(ios_fixtures):
    from mobilekit.bundle.reader import verify_bundle

    bundle, summary = ios_fixtures
    check = summary["self_check"]["models/object-select-tiny.mlpackage"]
    assert check["status"] == "passed" and check["runner"] in ("coreml-macos", "mil-executor")
    assert verify_bundle(bundle).ok
    index, _ = _index(bundle)
    assert index["inputs"][0]["feed"]["coreml"]["as"] == "image"
    with zipfile.ZipFile(bundle) as zf:  # golden image inputs are exact 8-bit pixels for Core ML
        image = np.frombuffer(zf.read("fixtures/case-000/inputs/image.bin"), "<f4").astype(np.float64)
    pixels = np.rint(image * 255)
    assert np.array_equal((pixels * (1 / 255)).astype(np.float32), image.astype(np.float32))


def test_fixtures_refuse_a_config_that_did_not_build_the_bundle(tiny_build, tmp_path):
    _, out = tiny_build
    other = tmp_path / "other.yaml"
    other.write_text(TINY.read_text().replace("seed: 3", "seed: 4"))
    bundle = out / "object-select-tiny-0.1.0-android.zip"
    before = bundle.read_bytes()
    proc = run_cli("qa", "fixtures", "--bundle", str(bundle), "--config", str(other), "--json")
    assert proc.returncode == 2 and "config_sha256" in last_json(proc.stdout)["error"]
    assert bundle.read_bytes() == before


# --- the platform harnesses (android_assets/, ios_harness/) on real `qa fixtures` output -------------

ANDROID_CORE = REPO / "android_assets" / "harness-core" / "src" / "main" / "java"
IOS_HARNESS = REPO / "ios_harness"
JUNIT_JAR = Path("/usr/share/java/junit4.jar")


def _java_replay(tmp_path: Path) -> list[str]:
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK on PATH (javac, java) for the Android harness core")
    classes = tmp_path / "classes"
    sources = sorted(str(p) for p in ANDROID_CORE.rglob("*.java"))
    built = subprocess.run(["javac", "--release", "17", "-encoding", "UTF-8", "-d", str(classes), *sources],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    return ["java", "-cp", str(classes), "ai.mobilekit.qa.harness.ReplayMain"]


def _swift_replay(tmp_path: Path) -> list[str]:
    if shutil.which("swift") is None:
        pytest.skip("no Swift toolchain on PATH for the iOS harness")
    built = subprocess.run(["swift", "build", "--package-path", str(IOS_HARNESS), "--product", "mobilekit-qa-replay"],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    path = subprocess.run(["swift", "build", "--package-path", str(IOS_HARNESS), "--show-bin-path"],
                          capture_output=True, text=True, timeout=300).stdout.strip()
    return [str(Path(path) / "mobilekit-qa-replay")]


@pytest.mark.parametrize("harness", ["android-java", "ios-swift"])
def test_harness_replay_of_real_fixtures_is_ingested(harness, android_fixtures, ios_fixtures, tmp_path):
    """`qa fixtures` → the harness logic reads the fixtures and writes device outputs from the goldens
    → `qa ingest` passes; with one case perturbed the harness and ingest both fail exactly that case."""
    bundle = android_fixtures if harness == "android-java" else ios_fixtures[0]
    replay = _java_replay(tmp_path) if harness == "android-java" else _swift_replay(tmp_path)
    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(unpacked)
    index = json.loads((unpacked / "fixtures" / "index.json").read_text())
    output = index["outputs"][0]["name"]

    good = subprocess.run([*replay, str(unpacked / "fixtures"), str(tmp_path / "good"), "--device", harness],
                          capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stdout + good.stderr
    assert all(f"case-00{i}" in good.stdout for i in range(len(index["cases"])))
    meta = json.loads((tmp_path / "good" / "device.json").read_text())
    assert meta["device"] == harness and meta["artifact"] in index["tolerances"]
    ok = run_cli("qa", "ingest", "--bundle", str(bundle), "--outputs", str(tmp_path / "good"), "--json")
    assert ok.returncode == 0, ok.stdout[-3000:]
    summary = last_json(ok.stdout)
    assert summary["passed"] and summary["cases_total"] == len(index["cases"]) and not summary["ignored_files"]
    assert summary["overall"]["outputs"][0]["max_abs"] == 0.0

    bad = subprocess.run([*replay, str(unpacked / "fixtures"), str(tmp_path / "bad"), "--perturb", f"case-001:{output}:0.01"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "✗ case-001" in bad.stdout and "✓ case-000" in bad.stdout
    failed = run_cli("qa", "ingest", "--bundle", str(bundle), "--outputs", str(tmp_path / "bad"), "--json")
    assert failed.returncode == 1
    assert last_json(failed.stdout)["cases_failed"] == ["case-001"]
