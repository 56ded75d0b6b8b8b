"""Depth family end to end on the tiny preset: both platforms pass parity on Linux, the iOS18
package is one multifunction model storing the extractor once, the TFLite file holds every module
as a signature, heads run on cached extractor outputs give the end-to-end result on LiteRT and the
MIL executor, and `predict depth --bokeh`
works on a real photo (matplotlib's sample portrait `grace_hopper.jpg`)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, last_json, run_cli

TINY = REPO / "configs" / "depth-tiny.yaml"


@pytest.fixture(scope="module")
def depth_build(tmp_path_factory):
    """`build all` of the tiny depth config for iOS18 (multifunction Core ML) and Android."""
    from tests.module_checks import build_ios18_and_android

    return build_ios18_and_android(TINY, tmp_path_factory.mktemp("depth"))


def _manifest(bundle: Path) -> dict:
    return json.loads(zipfile.ZipFile(bundle).read("manifest.json"))


def test_both_platforms_pass_parity_for_every_module(depth_build):
    from mobilekit.bundle.reader import verify_bundle

    result, _, _ = depth_build
    assert result.parity_passed and not result.not_verified, result.parity
    assert result.parity_complete == (not result.emulated)
    android = _manifest(next(b for b in result.bundles if b.name.endswith("android.zip")))
    modules = {m["name"]: m for m in android["modules"]}
    assert set(modules) == {"extractor", "depth", "portrait", "main"}
    assert modules["depth"]["feeds"] == ["extractor"] and "feat32" in [t["name"] for t in modules["depth"]["inputs"]]
    (tflite,) = android["artifacts"]  # TFLite: one file, a signature per module
    assert tflite["details"]["signatures"] == {"main": "serving_default", "extractor": "extractor", "depth": "depth",
                                                "portrait": "portrait"}
    depth_gate = android["parity"]["models/portrait-depth-tiny.tflite#depth"]
    assert depth_gate["task_metrics"][0]["name"] == "depth_absrel" and depth_gate["task_metrics"][0]["value"] < 1e-4
    for bundle in result.bundles:
        assert verify_bundle(bundle).ok


def test_tflite_signatures_store_shared_weights_once(depth_build, tmp_path):
    """The one-file TFLite is smaller than the modules converted as separate files would be."""
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family

    result, dist, config_path = depth_build
    android = _manifest(next(b for b in result.bundles if b.name.endswith("android.zip")))
    config, _ = load_config(config_path)
    family = get_family("depth")
    from mobilekit.convert.context import ModelContext
    from mobilekit.convert.request import convert_artifact

    model = family.build_model(config)
    separate = sum(convert_artifact(ModelContext(m.model, m.io, tmp_path, config, family, m.name), "tflite", tmp_path).path.stat().st_size
                   for m in family.modules(config, model))
    assert android["artifacts"][0]["bytes"] < 0.8 * separate


def test_ios18_multifunction_package_stores_the_extractor_once(depth_build):
    result, _, _ = depth_build
    ios = _manifest(next(b for b in result.bundles if b.name.endswith("ios.zip")))
    (artifact,) = ios["artifacts"]
    details = artifact["details"]
    assert details["functions"] == ["depth", "extractor", "main", "portrait"] and details["default_function"] == "main"
    separate = details["separate_package_bytes"]
    assert artifact["bytes"] < sum(separate.values())
    # every weight the extractor and the heads hold is also in `main`, and is stored once: the
    # package's weight blob is main's, not main + extractor + heads (the rest is program text)
    weights = details["separate_weight_file_bytes"]
    assert details["weight_file_bytes"] <= weights["main"] * 1.01 < weights["main"] + weights["extractor"]
    assert sorted(ios["parity"]) == [f"models/portrait-depth-tiny.mlpackage#{f}" for f in ("depth", "extractor", "main", "portrait")]
    assert all(entry["status"] == "passed" for entry in ios["parity"].values())


def _inputs(config_path: Path) -> dict[str, np.ndarray]:
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family

    config, _ = load_config(config_path)
    return get_family("depth").make_split(config, "parity").inputs


def test_heads_on_cached_features_match_end_to_end(depth_build):
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family
    from tests.module_checks import assert_heads_on_cached_features_match

    result, dist, config_path = depth_build
    family = get_family("depth")
    config, _ = load_config(config_path)
    specs = {m.name: m for m in family.modules(config, family.build_model(config))}
    assert_heads_on_cached_features_match(
        dist / "portrait-depth-tiny-0.1.0-android" / "models" / "portrait-depth-tiny.tflite",
        dist / "portrait-depth-tiny-0.1.0-ios" / "models" / "portrait-depth-tiny.mlpackage",
        specs, _inputs(config_path), "extractor", ("depth", "portrait"))


def _grace_hopper() -> Path:
    import matplotlib.cbook as cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def test_predict_depth_bokeh_on_a_real_photo(depth_build, tmp_path):
    from PIL import Image

    _, dist, _ = depth_build
    model = dist / "portrait-depth-tiny-0.1.0-android" / "models" / "portrait-depth-tiny.tflite"
    photo = _grace_hopper()
    out, blurred = tmp_path / "depth.png", tmp_path / "bokeh.png"
    done = run_cli("predict", "depth", "--model", str(model), "--image", str(photo), "--out", str(out),
                   "--focus", "300,200", "--bokeh", str(blurred), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = last_json(done.stdout)
    assert out.is_file() and blurred.is_file() and Path(summary["depth16"]).is_file()
    depth16 = np.asarray(Image.open(summary["depth16"]))
    original = np.asarray(Image.open(photo).convert("RGB"))
    assert depth16.dtype == np.uint16 and depth16.shape == original.shape[:2]
    assert np.asarray(Image.open(blurred)).shape == original.shape

    # the effect itself, on the same model's float depth: in focus unchanged, far blurred
    from mobilekit.core.family import get_family
    from mobilekit.families.depth.predict import bokeh, estimate_depth
    from mobilekit.pipeline.predict import load_predictor

    depth = estimate_depth(load_predictor(model, get_family("depth")), original)
    result, focal, strength = bokeh(original, depth, (200, 300), None, 12)
    radius = strength * np.abs(depth - focal)
    sharp, far = radius < 0.49, radius >= 12
    assert sharp.any() and far.any() and focal == depth[200, 300]
    diff = np.abs(result.astype(np.int16) - original.astype(np.int16))
    assert diff[sharp].max() == 0  # radius 0: the pixel is copied
    assert diff[far].mean() > 2.0  # a 25×25 box mean of a photo differs visibly from the pixel


@pytest.mark.parametrize("focus", ["9999,10", "12;30", "-3,4"])
def test_bad_focus_exits_2_before_loading_the_model(tmp_path, focus):
    done = run_cli("predict", "depth", "--model", str(tmp_path / "missing.tflite"), "--image", str(_grace_hopper()),
                   "--out", str(tmp_path / "d.png"), "--focus", focus, "--bokeh", str(tmp_path / "b.png"))
    assert done.returncode == 2, done.stderr
    assert "--focus" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d.png").exists()
