"""`optimize sweep` and `build` with `optimize.select` on the tiny config: reports, selection,
manifest size accounting, and a budget nobody meets (exit 1, nothing published)."""
from __future__ import annotations

import csv
import json
import zipfile

import pytest
import yaml

from conftest import TINY, last_json, run_cli

SWEEP_VARIANTS = ["tflite-fp32", "tflite-int8", "coreml-fp32", "coreml-palette6", "coreml-tfmot-sparse"]


def _config(tmp_path, name: str, **optimize) -> str:
    data = yaml.safe_load(TINY.read_text())
    data["data"]["val_samples"] = 8
    data["optimize"] = {"variants": SWEEP_VARIANTS, "prune": {"fine_tune_epochs": 1}, **optimize}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    out = tmp / "sweep"
    proc = run_cli("optimize", "sweep", "--config", _config(tmp, "tiny-sweep"), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return last_json(proc.stdout), out


def test_sweep_reports_every_variant_with_size_metric_and_parity(sweep):
    report, out = sweep
    rows = {r["name"]: r for r in report["variants"]}
    assert list(rows) == SWEEP_VARIANTS
    for row in rows.values():
        assert row["error"] is None, row
        assert row["bytes"] > 0 and row["params"] > 0 and row["metric"] is not None
        assert row["delta"] == pytest.approx(row["metric"] - report["reference"]["iou"])
        assert row["parity"]["status"] in ("passed", "failed") and row["parity"]["runner"]
    assert rows["tflite-fp32"]["parity"]["max_abs"] < 1e-4 and rows["tflite-fp32"]["delta"] == pytest.approx(0, abs=1e-9)
    assert rows["tflite-int8"]["bits_per_weight"] < 10 and rows["tflite-int8"]["bytes"] < rows["tflite-fp32"]["bytes"] / 2
    assert rows["coreml-palette6"]["bits_per_weight"] < rows["coreml-fp32"]["bits_per_weight"] / 2
    sparse = rows["coreml-tfmot-sparse"]
    assert sparse["training"]["pruned_kernel_sparsity"] == pytest.approx(0.5, abs=0.02) and sparse["sparsity"] > 0.3
    assert "keras_metrics" in sparse["training"]  # the fine-tuned model's own score, besides the converted one


def test_sweep_selects_the_smallest_within_budget_and_writes_reports(sweep):
    report, out = sweep
    rows = report["variants"]
    for target, name in report["selected"].items():
        fits = [r for r in rows if r["target"] == target and r["within_budget"]]
        assert name == min(fits, key=lambda r: r["bytes"])["name"]
    assert json.loads((out / "sweep.json").read_text())["selected"] == report["selected"]
    with (out / "sweep.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [r["name"] for r in table] == SWEEP_VARIANTS and {"bytes", "metric", "delta", "parity_status"} <= set(table[0])
    png = (out / "sweep.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    for row in rows:
        assert (out / "variants" / row["name"]).is_dir()


def test_build_uses_the_selected_variant_and_accounts_for_size(tmp_path):
    out = tmp_path / "dist"
    # two Core ML variants are enough to show the selection reaching the bundle (the sweep test covers every kind)
    config = _config(tmp_path, "select", select="smallest_within_budget", variants=["coreml-fp32", "coreml-palette6"])
    proc = run_cli("build", "ios", "--config", config, "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (bundle,) = last_json(proc.stdout)["bundles"]
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    (artifact,) = manifest["artifacts"]
    (applied,) = manifest["optimization"]["applied"]
    sweep = json.loads((out / "reports" / "object-select-tiny-0.1.0" / "sweep" / "sweep.json").read_text())
    assert applied["variant"] == artifact["details"]["variant"] == sweep["selected"]["coreml"]
    assert applied["selection"]["rule"] == "smallest_within_budget" and applied["selection"]["delta"] >= -0.01
    assert {"bytes", "params", "bits_per_weight", "sparsity"} <= set(artifact)
    assert manifest["parity_passed"]


def test_budget_nobody_meets_exits_1_and_publishes_nothing(tmp_path):
    strict = _config(tmp_path, "strict", select="smallest_within_budget", variants=["coreml-fp32", "coreml-palette6"],
                     budget={"metric": "iou", "max_drop": 0.01, "limit": 0.999})
    out = tmp_path / "dist"
    proc = run_cli("build", "ios", "--config", strict, "--out", str(out), "--json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "optimize budget not met: no coreml variant keeps iou" in proc.stderr and "coreml-palette6" in proc.stderr
    assert "at least 0.999" in last_json(proc.stdout)["error"]
    assert not list(out.glob("*.zip"))
    sweep = run_cli("optimize", "sweep", "--config", strict, "--variants", "coreml-palette6", "--out", str(tmp_path / "sweep"), "--json")
    assert sweep.returncode == 1 and "nothing selected" in sweep.stderr
    assert last_json(sweep.stdout)["selected"] == {"coreml": None}


def test_unknown_variant_is_exit_2_before_any_work(tmp_path):
    proc = run_cli("optimize", "sweep", "--config", str(TINY), "--variants", "coreml-palette3", "--out", str(tmp_path / "s"))
    assert proc.returncode == 2 and "coreml-palette3" in proc.stderr and "accepted: coreml-fp16" in proc.stderr
    assert not (tmp_path / "s").exists()


def _own_model_and_data(tmp_path):
    """A user's own tf_keras model (two inputs) and their data as .npz."""
    import numpy as np

    from mobilekit.core.tf import seed_everything, tf_and_keras

    _, keras = tf_and_keras()
    seed_everything(0)
    image, clicks = keras.Input((32, 32, 3), name="image"), keras.Input((32, 32, 2), name="clicks")
    x = keras.layers.Concatenate()([image, clicks])
    x = keras.layers.Conv2D(48, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    model = keras.Model([image, clicks], keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x))
    model.save(tmp_path / "own.keras")
    rng = np.random.default_rng(0)
    arrays = {"image": rng.random((32, 32, 32, 3), dtype=np.float32), "clicks": rng.random((32, 32, 32, 2), dtype=np.float32)}
    np.savez(tmp_path / "own.npz", **arrays, targets=(arrays["image"][..., :1] > 0.5).astype(np.float32))
    return tmp_path / "own.keras", tmp_path / "own.npz"


def test_prune_then_sparse_core_ml_for_your_own_model(tmp_path):
    model, data = _own_model_and_data(tmp_path)
    pruned = tmp_path / "pruned.keras"
    proc = run_cli("optimize", "prune", "--model", str(model), "--data", str(data), "--out", str(pruned),
                   "--sparsity", "0.6", "--epochs", "1", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert last_json(proc.stdout)["report"]["pruned_kernel_sparsity"] == pytest.approx(0.6, abs=0.02) and pruned.is_file()
    proc = run_cli("optimize", "quantize", "--model", str(pruned), "--variant", "coreml-sparse", "--data", str(data),
                   "--out", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = last_json(proc.stdout)
    assert report["size"]["sparsity"] >= 0.55 and report["size"]["bits_per_weight"] < 12
    assert report["parity"]["status"] == "passed" and report["numerics"] == "lowbit"


def test_full_int8_of_your_own_model_needs_representative_data(tmp_path):
    model, data = _own_model_and_data(tmp_path)
    proc = run_cli("optimize", "quantize", "--model", str(model), "--variant", "tflite-int8", "--out", str(tmp_path / "a"))
    assert proc.returncode == 2 and "representative inputs" in proc.stderr and "--data" in proc.stderr
    proc = run_cli("optimize", "quantize", "--model", str(model), "--variant", "tflite-int8", "--data", str(data),
                   "--out", str(tmp_path / "b"), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = last_json(proc.stdout)
    assert report["numerics"] == "int8" and report["size"]["bits_per_weight"] < 10 and report["parity"]["status"] == "passed"
