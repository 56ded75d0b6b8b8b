"""`optimize sweep` on the embedded default config (small preset): the retention each compression
must keep (int8 weights ≥ 99.5 %, 6-bit palettes ≥ 97 %, full-int8 TFLite ≥ 98 % of the fp32 IoU).
The full variant list runs in the slow suite; CI's reduced run keeps the three retention variants."""
from __future__ import annotations

import os

import pytest

from conftest import last_json, run_cli

RETENTION = {"coreml-int8": 0.995, "tflite-dynamic-int8": 0.995, "coreml-palette6": 0.97, "tflite-int8": 0.98}
FULL = ["tflite-fp32", "tflite-fp16", "tflite-dynamic-int8", "tflite-int8", "coreml-fp16", "coreml-int8",
        "coreml-palette6", "coreml-palette4", "coreml-pruned50"]


@pytest.mark.slow
def test_default_sweep_keeps_the_expected_retention(tmp_path):
    variants = list(RETENTION) if os.environ.get("MOBILEKIT_SLOW_REDUCED") else FULL
    proc = run_cli("optimize", "sweep", "--variants", ",".join(variants), "--out", str(tmp_path / "sweep"), "--json",
                   cwd=tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = last_json(proc.stdout)
    rows = {r["name"]: r for r in report["variants"]}
    for name, floor in RETENTION.items():
        assert rows[name]["error"] is None and rows[name]["retention"] >= floor, rows[name]
        assert rows[name]["retention_ok"] is True
    assert report["selected"]["coreml"] and report["selected"]["tflite"]
    if "coreml-pruned50" in rows:
        assert rows["coreml-pruned50"]["sparsity"] >= 0.45  # sparse on disk, not only zeroed
