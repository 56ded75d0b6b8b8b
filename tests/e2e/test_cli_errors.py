"""Bad input exits 2 before any work, naming the file and field, and leaves nothing behind."""
from __future__ import annotations

import pytest
import yaml

from conftest import TINY, last_json, run_cli


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.__setitem__("surprise", True), "surprise"),
    (lambda d: d["training"].__setitem__("epochs", "ten"), "training.epochs"),
    (lambda d: d["data"].__setitem__("parity_samples", 0), "data.parity_samples"),
])
def test_invalid_config_exits_2_naming_the_field(tmp_path, mutate, field):
    data = yaml.safe_load(TINY.read_text())
    mutate(data)
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    proc = run_cli("build", "android", "--config", str(config), "--out", str(out), "--json")
    assert proc.returncode == 2
    assert str(config) in proc.stderr and field in proc.stderr
    assert last_json(proc.stdout)["exit_code"] == 2
    assert not out.exists()


def test_unknown_platform_and_missing_candidate(tmp_path):
    assert run_cli("build", "windows").returncode == 2
    proc = run_cli("parity", "--reference", str(tmp_path / "m.keras"), "--candidate", str(tmp_path / "x.tflite"))
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_doctor_reports_versions_and_capabilities():
    proc = run_cli("doctor", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = last_json(proc.stdout)
    assert report["toolchain"]["tensorflow"].startswith("2.19")
    names = {c["name"]: c for c in report["capabilities"]}
    assert names["LiteRT runtime"]["available"] and names["TFLite metadata"]["available"]
    import platform

    if platform.system() != "Darwin":
        assert names["Core ML runtime"]["available"] is False and "macOS" in names["Core ML runtime"]["detail"]


def test_help_for_every_command():
    for args in (["--help"], ["build", "--help"], ["train", "--help"], ["convert", "--help"], ["parity", "--help"],
                 ["bundle", "verify", "--help"], ["doctor", "--help"]):
        proc = run_cli(*args)
        assert proc.returncode == 0 and "--json" in proc.stdout or args == ["--help"], args
