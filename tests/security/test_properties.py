"""Property-based tests (hypothesis) for what parses user input: the config loader never raises
anything but ConfigError and names the field, a valid config round-trips through YAML to the same
hash, manifests round-trip through their schema, and mask files only load as lossless PNG."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mobilekit.bundle.manifest import manifest_model
from mobilekit.core.config import load_config, parse_config
from mobilekit.core.errors import ConfigError, InputError

REPO = Path(__file__).resolve().parents[2]
TINY, _ = load_config(REPO / "configs" / "segmentation-tiny.yaml")
FIELDS = [("data", "image_size"), ("data", "train_samples"), ("training", "epochs"), ("training", "batch_size"),
          ("training", "learning_rate"), ("seed",), ("bundle", "name"), ("targets", "coreml", "compute_precision")]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)


def _with(data: dict, path: tuple[str, ...], value) -> dict:
    out = json.loads(json.dumps(data))
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return out


@SETTINGS
@given(st.sampled_from(FIELDS), json_values)
def test_any_value_in_any_field_is_accepted_or_refused_naming_it(path, value):
    data = _with(TINY.model_dump(mode="json"), path, value)
    try:
        parse_config(data, "c.yaml")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("c.yaml: ") and "\n" in message or "family" in message
        assert path[0] in message  # the offending field's section is named


@SETTINGS
@given(st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=4))
def test_unknown_top_level_keys_are_refused_by_name(extra):
    data = {**TINY.model_dump(mode="json"), **{f"x_{k}": v for k, v in extra.items()}}
    if not extra:
        return
    try:
        parse_config(data, "c.yaml")
    except ConfigError as exc:
        assert "unknown key" in str(exc) or "extra" in str(exc).lower()
    else:
        raise AssertionError("unknown keys were accepted")


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_files_never_crash_the_loader(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_bytes(blob if isinstance(blob, bytes) else blob.encode("utf-8", "surrogatepass"))
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 64), st.sampled_from(["fp16", "fp32"]))
def test_a_valid_config_round_trips_through_yaml_to_the_same_hash(seed, epochs, precision):
    data = _with(_with(_with(TINY.model_dump(mode="json"), ("seed",), seed), ("training", "epochs"), epochs),
                 ("targets", "coreml", "compute_precision"), precision)
    config = parse_config(data, "c.yaml")
    again = parse_config(yaml.safe_load(yaml.safe_dump(config.model_dump(mode="json"))), "again.yaml")
    assert again == config and again.sha256() == config.sha256()


def _manifest() -> dict:
    tensor = {"dtype": "float32", "description": "", "normalization": {}, "kind": "tensor"}
    return {
        "schema_version": "1.2", "name": "m", "version": "0.1.0", "platform": "android", "family": "segmentation",
        "preset": "tiny", "description": "", "author": "a", "license": "MIT", "created": "1980-01-01T00:00:00Z",
        "config_sha256": "0" * 64, "files": {"models/m.tflite": {"sha256": "1" * 64, "size": 4}},
        "inputs": [{**tensor, "name": "image", "shape": [1, 8, 8, 3]}], "outputs": [{**tensor, "name": "mask", "shape": [1, 8, 8, 1]}],
        "artifacts": [{"target": "tflite", "path": "models/m.tflite", "precision": "fp32", "bytes": 4, "details": {}, "io": None}],
        "parity": {}, "parity_passed": True, "parity_complete": True, "parity_emulated": [], "optimization": {},
        "custom_kernels": [], "model": {}, "toolchain": {"tensorflow": "2.19"}, "modules": [],
    }


@SETTINGS
@given(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3), st.text(max_size=12),
       st.lists(st.integers(1, 64), min_size=1, max_size=4))
def test_manifests_round_trip_through_json_and_their_schema(details, description, shape):
    manifest = _manifest()
    manifest["description"] = description
    manifest["artifacts"][0]["details"] = json.loads(json.dumps(details, allow_nan=False)) if _finite(details) else {}
    manifest["outputs"][0]["shape"] = shape
    schema = manifest_model(manifest)
    parsed = schema.model_validate(json.loads(json.dumps(manifest, sort_keys=True)))
    assert schema.model_validate(json.loads(parsed.model_dump_json())).model_dump() == parsed.model_dump()
    assert parsed.model_dump(mode="json")["outputs"][0]["shape"] == shape


def _finite(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except ValueError:
        return False


@SETTINGS
@given(st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "TIFF"]), st.integers(1, 12), st.integers(1, 12))
def test_masks_load_only_from_lossless_png_and_keep_their_values(tmp_path_factory, fmt, h, w):
    from mobilekit.data.image_io import decode_image

    values = (np.arange(h * w).reshape(h, w) % 256).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format=fmt)
    path = tmp_path_factory.mktemp("mask") / "m.png"  # the extension lies for the non-PNG cases
    path.write_bytes(buffer.getvalue())
    try:
        loaded = decode_image(path, "mask", lossless=True).image
    except InputError as exc:
        assert fmt != "PNG" and str(path) in str(exc) and "PNG" in str(exc)
    else:
        assert fmt == "PNG" and np.array_equal(np.asarray(loaded).reshape(h, w), values)
