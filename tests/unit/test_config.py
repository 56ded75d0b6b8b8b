from pathlib import Path

import pytest
import yaml

from mobilekit.core.config import default_config_path, load_config, parse_config
from mobilekit.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _tiny() -> dict:
    return yaml.safe_load((REPO / "configs" / "segmentation-tiny.yaml").read_text())


def test_shipped_configs_validate():
    from mobilekit.core.config import load_build_spec
    from mobilekit.core.family import FAMILIES

    for path in (REPO / "configs").glob("*.yaml"):
        configs, _, _ = load_build_spec(path)
        assert configs and all(c.family in FAMILIES for c in configs)


def test_embedded_defaults_are_the_repo_defaults():
    from mobilekit.core.config import DEFAULT_MODEL_SET, load_build_spec

    assert default_config_path().read_bytes() == (REPO / "configs" / "segmentation.yaml").read_bytes()
    config, path = load_config(None)  # single-model commands: the segmentation default
    assert path == default_config_path() and config.preset == "small"
    # build: the SDK set of the three default models, each the same file as the repo's
    configs, model_set, path = load_build_spec(None)
    assert path == default_config_path(DEFAULT_MODEL_SET) and model_set is not None
    assert path.read_bytes() == (REPO / "configs" / "sdk.yaml").read_bytes()
    assert sorted(c.family for c in configs) == ["depth", "inpainting", "segmentation"]
    for c in configs:
        assert c.canonical_json() == load_config(REPO / "configs" / f"{c.family}.yaml")[0].canonical_json()


@pytest.mark.parametrize("mutate, field, accepted", [
    (lambda d: d["training"].__setitem__("epochs", 0), "training.epochs", "greater than or equal to 1"),
    (lambda d: d["training"].__setitem__("batch_size", "many"), "training.batch_size", "valid integer"),
    (lambda d: d["data"].__setitem__("colour", 1), "data.colour", "accepted keys here: source, image_size"),
    (lambda d: d.__setitem__("family", "faces"), "family", "accepted: depth, inpainting, segmentation"),
    (lambda d: d.__setitem__("preset", "huge"), "preset", "accepted: base, small, split-mnv2, split-small, split-tiny, tiny"),
    (lambda d: d["targets"]["coreml"].__setitem__("compute_precision", "int3"), "targets.coreml.compute_precision", "'fp32' or 'fp16'"),
    (lambda d: d["data"].__setitem__("image_size", [100, 64]), "data.image_size", "multiple of 16"),
    (lambda d: d.__setitem__("segmentation", {"clicks": {"margin": -1}}), "segmentation.clicks.margin", "greater than or equal to 0"),
    (lambda d: d.__setitem__("segmentation", {"taps": 1}), "segmentation.taps", "accepted keys here: clicks, coco, folders"),
    (lambda d: d["data"].__setitem__("source", "web"), "data.source", "accepted: coco, composites, folders, synthetic"),
    (lambda d: d["bundle"].__setitem__("version", "1.0"), "bundle.version", "pattern"),
    (lambda d: d.__setitem__("optimize", {"budget": {"metric": "noc85"}}), "optimize.budget.metric", "accepted: iou, boundary_f"),
    (lambda d: d.__setitem__("optimize", {"select": "best"}), "optimize.select", "'none' or 'smallest_within_budget'"),
    (lambda d: d.__setitem__("optimize", {"prune": {"sparsity": 1.5}}), "optimize.prune.sparsity", "less than 1"),
    (lambda d: d["targets"]["tflite"].__setitem__("quantization", "int4"), "targets.tflite.quantization", "'dynamic_int8'"),
])
def test_bad_values_name_file_field_and_accepted(mutate, field, accepted):
    data = _tiny()
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, "some/file.yaml")
    message = str(info.value)
    assert "some/file.yaml" in message and field in message and accepted in message, message
    assert info.value.exit_code == 2


def test_missing_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_canonical_hash_ignores_key_order_and_tracks_values():
    a = parse_config(_tiny(), "a")
    reordered = dict(reversed(list(_tiny().items())))
    assert parse_config(reordered, "b").sha256() == a.sha256()
    changed = _tiny()
    changed["seed"] = 99
    assert parse_config(changed, "c").sha256() != a.sha256()


def test_unknown_variant_names_the_field_before_any_work():
    """Variant names belong to the optimize layer: a selecting build or a sweep checks them first."""
    from mobilekit.core.config import parse_config
    from mobilekit.core.errors import InputError
    from mobilekit.pipeline.selection import platform_variants

    data = _tiny()
    data["optimize"] = {"select": "smallest_within_budget", "variants": ["coreml-palette3"]}
    config = parse_config(data, "some/file.yaml")
    with pytest.raises(InputError) as info:
        platform_variants(config, ("ios",))
    assert "optimize.variants" in str(info.value) and "accepted: coreml-fp16" in str(info.value)


def test_selecting_build_needs_a_variant_per_target_and_no_full_integer_for_multi_module_families():
    from mobilekit.core.config import parse_config
    from mobilekit.core.errors import InputError
    from mobilekit.pipeline.selection import platform_variants

    data = _tiny()
    data["optimize"] = {"select": "smallest_within_budget", "variants": ["coreml-fp16"]}
    config = parse_config(data, "some/file.yaml")
    assert platform_variants(config, ("ios",)) == ["coreml-fp16"]
    with pytest.raises(InputError, match="no variant for target.*tflite"):
        platform_variants(config, ("ios", "android"))
    depth = yaml.safe_load((REPO / "configs" / "depth-tiny.yaml").read_text())
    depth["optimize"] = {"select": "smallest_within_budget"}
    chosen = platform_variants(parse_config(depth, "d.yaml"), ("android",))
    assert "tflite-dynamic-int8" in chosen and "tflite-int8" not in chosen
    depth["optimize"]["variants"] = ["tflite-int8"]
    with pytest.raises(InputError, match="full-integer"):
        platform_variants(parse_config(depth, "d.yaml"), ("android",))
