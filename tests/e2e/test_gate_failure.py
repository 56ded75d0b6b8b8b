"""A failed parity gate exits 1, publishes nothing, and leaves an earlier good bundle untouched."""
from __future__ import annotations

import shutil

import yaml

from conftest import TINY, last_json, run_cli


def test_failed_gate_keeps_previous_bundle(tiny_build, tmp_path):
    _, out = tiny_build
    good = out / "object-select-tiny-0.1.0-android.zip"
    published = tmp_path / "dist"
    published.mkdir()
    shutil.copy2(good, published / good.name)
    before = (published / good.name).read_bytes()

    data = yaml.safe_load(TINY.read_text())
    data["parity"] = {"tolerances": {"tflite": {"fp32": {"max_abs": 1e-30, "min_task_metric": 1.0}}}}
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(data))
    proc = run_cli("build", "android", "--config", str(strict), "--out", str(published), "--json")
    assert proc.returncode == 1, proc.stderr[-2000:]
    report = last_json(proc.stdout)
    assert report["exit_code"] == 1 and "no bundle published" in report["error"]
    (entry,) = report["parity"].values()
    assert entry["status"] == "failed" and "max_abs" in entry["outputs"][0]["failures"][0]
    assert (published / good.name).read_bytes() == before
    assert sorted(p.name for p in published.iterdir()) == [good.name, "reports"]  # reports explain the failure
    assert sorted(p.name for p in (published / "reports").iterdir()) == ["object-select-tiny-0.1.0.failed"]  # beside, not over, good ones
    junit = (published / "reports" / "object-select-tiny-0.1.0.failed" / "junit.xml").read_text()
    assert 'failures="1"' in junit or 'failures="2"' in junit
