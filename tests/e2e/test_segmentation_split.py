"""The split segmentation preset end to end (tiny): an image encoder and a click decoder exported
as modules. Both platforms pass parity per module; the iOS18 package is one multifunction model
storing the encoder once; the decoder run on the encoder's cached outputs (the per-tap path an app
takes) gives the end-to-end mask on LiteRT and the MIL executor."""
from __future__ import annotations

import json
import zipfile

import pytest

from conftest import REPO

TINY = REPO / "configs" / "segmentation-split-tiny.yaml"


@pytest.fixture(scope="module")
def split_build(tmp_path_factory):
    from tests.module_checks import build_ios18_and_android

    return build_ios18_and_android(TINY, tmp_path_factory.mktemp("split"))


def _manifests(result) -> dict[str, dict]:
    return {b.name.rsplit("-", 1)[-1].removesuffix(".zip"): json.loads(zipfile.ZipFile(b).read("manifest.json")) for b in result.bundles}


def test_every_module_passes_parity_and_the_encoder_is_stored_once(split_build):
    from mobilekit.bundle.reader import verify_bundle

    result, _, _ = split_build
    assert result.parity_passed and not result.not_verified, result.parity
    manifests = _manifests(result)
    modules = {m["name"]: m for m in manifests["android"]["modules"]}
    assert set(modules) == {"encoder", "decoder", "main"}
    assert modules["decoder"]["feeds"] == ["encoder"]
    assert {t["name"] for t in modules["encoder"]["inputs"]} == {"image"}  # the encoder never sees a click
    assert "clicks" in {t["name"] for t in modules["decoder"]["inputs"]}
    (tflite,) = manifests["android"]["artifacts"]
    assert set(tflite["details"]["signatures"]) == {"main", "encoder", "decoder"}
    (package,) = manifests["ios"]["artifacts"]
    details = package["details"]
    assert details["functions"] == ["decoder", "encoder", "main"] and details["default_function"] == "main"
    weights = details["separate_weight_file_bytes"]
    assert details["weight_file_bytes"] <= weights["main"] * 1.01 < weights["main"] + weights["encoder"]
    for manifest in manifests.values():
        assert all(entry["status"] == "passed" for entry in manifest["parity"].values()), manifest["parity"]
        assert len(manifest["parity"]) == 3
    for bundle in result.bundles:
        assert verify_bundle(bundle).ok


def test_decoder_on_cached_encoder_outputs_matches_end_to_end(split_build):
    from mobilekit.core.config import load_config
    from mobilekit.core.family import get_family
    from tests.module_checks import assert_heads_on_cached_features_match

    _, dist, config_path = split_build
    family = get_family("segmentation")
    config, _ = load_config(config_path)
    specs = {m.name: m for m in family.modules(config, family.build_model(config))}
    stem = "object-select-split-tiny"
    assert_heads_on_cached_features_match(dist / f"{stem}-0.1.0-android" / "models" / f"{stem}.tflite",
                                          dist / f"{stem}-0.1.0-ios" / "models" / f"{stem}.mlpackage",
                                          specs, family.make_split(config, "parity").inputs, "encoder", ("decoder",))
