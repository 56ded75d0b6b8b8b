"""Resource preflight: a config whose fields are each within limits but together absurd is refused
(exit 2, the estimate and the fields to lower) before anything is allocated or written."""
from __future__ import annotations

import time

import pytest
from conftest import TINY, last_json, run_cli
from hypothesis import given
from hypothesis import strategies as st

from mobilekit.core.config import load_config
from mobilekit.core.errors import InputError
from mobilekit.train.preflight import LIMIT_ENV, estimate_dataset, format_bytes, parse_size, require_memory_within_limit

ABSURD = """family: segmentation
preset: tiny
bundle: {name: absurd, version: 0.1.0}
data: {image_size: [2048, 2048], train_samples: 1000000}
"""


def test_absurd_config_is_refused_before_any_work(tmp_path):
    config = tmp_path / "absurd.yaml"
    config.write_text(ABSURD)
    out = tmp_path / "dist"
    started = time.perf_counter()
    proc = run_cli("build", "ios", "--config", str(config), "--out", str(out), "--json")
    assert proc.returncode == 2, proc.stderr[-2000:]
    error = last_json(proc.stdout)["error"]
    assert str(config) in error and "TiB" in error and "data.train_samples" in error and "data.image_size" in error
    assert "Traceback" not in proc.stderr and not out.exists()
    assert time.perf_counter() - started < 60  # no training, no data generated


def test_dataset_estimate_counts_every_split_input_and_target():
    config, _ = load_config(TINY)
    estimate = estimate_dataset(config)
    h, w = config.data.image_size
    samples = config.data.train_samples + config.data.val_samples + config.data.parity_samples
    assert estimate.parts["dataset"] == samples * h * w * (3 + 2 + 1) * 4  # image + clicks + mask, float32


def test_limit_from_the_environment_refuses_even_the_tiny_config(monkeypatch, tmp_path):
    from mobilekit.train.trainer import train

    config, _ = load_config(TINY)
    monkeypatch.setenv(LIMIT_ENV, "1M")
    monkeypatch.setenv("MOBILEKIT_NO_CACHE", "1")
    with pytest.raises(InputError, match=r"over the limit of 1\.0 MiB \(MOBILEKIT_MEMORY_LIMIT\)"):
        train(config, tmp_path / "train")
    assert not (tmp_path / "train" / "model.keras").exists()
    monkeypatch.setenv(LIMIT_ENV, "lots")
    with pytest.raises(InputError, match="MOBILEKIT_MEMORY_LIMIT: 'lots' is not a size"):
        require_memory_within_limit(config, "c", estimate_dataset(config))


@given(st.integers(0, 10**6), st.sampled_from(["", "K", "M", "G", "T", "k", "g", "GiB", "MB"]))
def test_parse_size_round_trips_units(number, unit):
    scale = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit[:1].upper()]
    assert parse_size(f"{number}{unit}") == number * scale


@given(st.text(max_size=12))
def test_parse_size_never_crashes(text):
    try:
        assert parse_size(text) >= 0
    except InputError as exc:
        assert LIMIT_ENV in str(exc)


def test_format_bytes_is_human():
    assert format_bytes(512) == "512 B" and format_bytes(3 << 30) == "3.0 GiB" and format_bytes(45.8 * (1 << 40)).endswith("TiB")
