"""A planted wrong weight makes `parity` fail and name the op that diverges first."""
from __future__ import annotations

import shutil

import numpy as np

from conftest import TINY, last_json, run_cli


def test_parity_cli_names_the_planted_op(tmp_path):
    trained = last_json(run_cli("train", "--config", str(TINY), "--out", str(tmp_path / "run"), "--json").stdout)["model"]
    converted = last_json(run_cli("convert", "coreml", "--model", trained, "--out", str(tmp_path / "conv"), "--json").stdout)
    (package,) = converted["artifacts"]
    weights = next((tmp_path / "conv").rglob("weight.bin"))
    data = bytearray(weights.read_bytes())
    # Weight blobs are 64-byte aligned records; overwrite one float32 well inside the file.
    offset = (len(data) // 2) // 4 * 4
    data[offset:offset + 4] = np.float32(25.0).tobytes()
    weights.write_bytes(bytes(data))
    proc = run_cli("parity", "--reference", trained, "--candidate", package, "--json", "--report-dir", str(tmp_path / "rep"))
    assert proc.returncode == 1, proc.stderr[-2000:]
    report = last_json(proc.stdout)
    assert report["passed"] is False and report["divergence"]["op_name"]
    assert any(line.startswith("✗ first divergent op") for line in report["checks"])
    assert "first divergent op" in (tmp_path / "rep" / "junit.xml").read_text()
    shutil.rmtree(tmp_path / "conv")
