"""The dataset cache in one process: codec round trip, what does and does not change a dataset's
identity, streaming equals the in-memory split, gc by age / size that never removes a dataset in
use, tamper detection, and the CLI's input errors."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from conftest import last_json, run_cli_in_process

from mobilekit.core.config import parse_config
from mobilekit.core.family import get_family
from mobilekit.data.cache.codec import decode_numpy, encode, spec_of
from mobilekit.data.cache.store import DatasetStore
from mobilekit.data.cache.splits import ensure_split as build_split, split_key

BASE = {"family": "segmentation", "preset": "tiny", "seed": 5,
        "data": {"image_size": [32, 32], "train_samples": 20, "val_samples": 6, "parity_samples": 4},
        "bundle": {"name": "cache-test", "version": "0.1.0"}}


def _config(**changes):
    data = json.loads(json.dumps(BASE))
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return parse_config(data, "test")


def test_codec_round_trips_dtypes_and_variable_shapes():
    example = {"image": np.random.default_rng(0).random((4, 5, 3), dtype=np.float32), "mask": np.array([[True, False]]),
               "label": np.arange(6, dtype=np.uint8).reshape(2, 3), "extra/clicks": np.zeros((0, 3), np.int32)}
    back = decode_numpy(encode(example), spec_of(example))
    for key, value in example.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape and np.array_equal(back[key], value)
    levels = {"photo": (np.arange(12, dtype=np.float32) / 255).reshape(3, 4), "soft": np.linspace(0, 1, 7, dtype=np.float32)}
    spec = spec_of(levels, {"photo": "unit8", "soft": "unit16"})
    back = decode_numpy(encode(levels, spec), spec)
    assert np.array_equal(back["photo"], levels["photo"]) and back["soft"].dtype == np.float32
    assert np.abs(back["soft"] - levels["soft"]).max() <= 0.5 / 65535 + 1e-7
    assert len(encode(levels, spec)) < len(encode(levels))


def test_identity_follows_exactly_the_options_that_decide_the_content():
    base = split_key(_config(), "train")
    assert split_key(_config(), "train").id == base.id  # canonical: same config, same id
    assert split_key(_config(training__epochs=3), "train").id == base.id  # training options do not decide the data
    depth = dict(family="depth", preset="tiny", bundle=BASE["bundle"], data=BASE["data"])
    depth_key = split_key(parse_config(depth, "test"), "train").id
    assert split_key(parse_config({**depth, "depth": {"loss": "silog"}}, "test"), "train").id == depth_key  # a loss is not data
    for changed in (_config(seed=6), _config(data__image_size=[48, 48]), _config(data__train_samples=21),
                    _config(data__augment=False), _config(segmentation__clicks={"margin": 7.0})):
        assert split_key(changed, "train").id != base.id
    assert split_key(_config(), "val").id != base.id
    assert base.id.startswith("segmentation-synthetic-train-32x32-n20-") and len(base.digest) == 64


def test_a_folder_source_is_rebuilt_when_its_files_change(tmp_path):
    from PIL import Image

    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(2):
        Image.fromarray(np.full((32, 32, 3), 60 * i, np.uint8)).save(root / "images" / f"{i}.png")
        Image.fromarray(np.pad(np.full((10, 10), 255, np.uint8), 11)).save(root / "masks" / f"{i}.png")
    config = _config(data__source="folders", segmentation__folders={"root": str(root)})
    before = split_key(config, "train").id
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "images" / "2.png")
    assert split_key(config, "train").id != before


def test_streamed_examples_equal_the_in_memory_split(tmp_path):
    from mobilekit.data.cache.stream import stream_examples

    config, store = _config(), DatasetStore(tmp_path)
    result = build_split(config, "train", store, shard_examples=6)  # 4 shards, the last one short
    assert result.built
    assert not build_split(config, "train", store).built  # ready: reused
    split = get_family("segmentation").make_split(config, "train")
    with store.using(result.id) as index:
        assert [s["count"] for s in index["shards"]] == [6, 6, 6, 2] and index["spec"]["extra/clicks"]["shape"] == [None, 3]
        batches = list(stream_examples(result.path, index, ("image", "clicks", "mask"), batch_size=8, cycle_length=1))
        assert len(list(stream_examples(result.path, index, ("mask",), skip_shards=1, shuffle_buffer=64))) == 14
    for key, array in {**split.inputs, **split.targets}.items():  # 8-bit image and mask exact, clicks to 1/65535
        np.testing.assert_allclose(np.concatenate([b[key].numpy() for b in batches]), array, rtol=0, atol=8e-6, err_msg=key)


def test_gc_by_age_and_size_never_removes_a_dataset_in_use(tmp_path):
    store = DatasetStore(tmp_path)
    ids = [build_split(_config(seed=seed), "parity", store).id for seed in (1, 2, 3)]
    now = time.time()
    for age_days, dataset_id in zip((40, 20, 1), ids):
        (tmp_path / dataset_id / "last_used").write_text(f"{now - age_days * 86400}\n")
    assert [a for _, a in store.gc(older_than_s=30 * 86400, dry_run=True)] == ["would remove"]
    assert store.is_ready(ids[0])
    with store.using(ids[1]):
        (tmp_path / ids[1] / "last_used").write_text(f"{now - 20 * 86400}\n")
        removed = store.gc(older_than_s=10 * 86400)
        assert [(e.id, a) for e, a in removed] == [(ids[0], "removed"), (ids[1], "in use, kept")]
    assert [e.id for e in store.entries()] == sorted(ids[1:])
    # size: least recently used first, until the rest fit
    keep = store.status(ids[2]).bytes
    assert [(e.id, a) for e, a in store.gc(max_bytes=keep)] == [(ids[1], "removed")]
    assert [e.id for e in store.entries()] == [ids[2]]


def test_show_verify_detects_a_changed_shard_and_cli_input_errors_exit_2(tmp_path, monkeypatch):
    store = DatasetStore(tmp_path)
    result = build_split(_config(), "parity", store)
    shown = run_cli_in_process("dataset", "show", result.id[:30], "--verify", "--cache", str(tmp_path), "--json")
    assert shown.returncode == 0 and last_json(shown.stdout)["verified"] == []
    shard = tmp_path / result.id / "shard-00000.tfrecord.gz"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    shown = run_cli_in_process("dataset", "show", result.id, "--verify", "--cache", str(tmp_path), "--json")
    assert shown.returncode == 1 and last_json(shown.stdout)["verified"] == ["shard-00000.tfrecord.gz"]
    for args, words in ((("gc", "--older-than", "soon"), "--older-than"), (("gc", "--max-size", "big"), "--max-size"),
                        (("gc",), "--older-than"), (("show", "nope"), "no dataset 'nope'")):
        proc = run_cli_in_process("dataset", *args, "--cache", str(tmp_path))
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)


def test_a_gfile_url_root_works_like_a_path(tmp_path, monkeypatch):
    """`ram://` is TensorFlow's in-memory filesystem: the same code paths as gs:// or s3://."""
    from mobilekit.data.cache.stream import stream_examples

    monkeypatch.setenv("MOBILEKIT_CACHE_DIR", str(tmp_path / "local"))  # where locks of URL roots live
    store = DatasetStore(f"ram://mobilekit-test-{tmp_path.name}")
    result = build_split(_config(), "parity", store, shard_examples=3)
    assert result.built and result.path.startswith("ram://") and not build_split(_config(), "parity", store).built
    (entry,) = store.entries()
    assert entry.state == "ready" and entry.index["count"] == 4 and [s["count"] for s in entry.index["shards"]] == [3, 1]
    with store.using(result.id) as index:
        assert len(list(stream_examples(result.path, index, ("mask",)))) == 4
    assert [a for _, a in store.gc(max_bytes=0)] == ["removed"] and store.entries() == []
