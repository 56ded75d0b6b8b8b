"""The verified-build cache: nothing changed → the stored bundles are re-verified and published
again (same bytes, same reports, no conversion); anything changed, a damaged entry, `--rebuild` or
MOBILEKIT_NO_BUILD_CACHE=1 → the full build."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import TINY


class FullBuild(Exception):
    """Raised in place of training/conversion: the build took the full path."""


def test_unchanged_rebuild_reuses_the_verified_bundles_and_nothing_else_does(tmp_path, monkeypatch):
    from mobilekit.core.config import load_build_spec
    from mobilekit.pipeline import build as build_module
    from mobilekit.pipeline.build import build
    from mobilekit.pipeline.build_cache import build_key, cache

    monkeypatch.setenv("MOBILEKIT_NO_BUILD_CACHE", "0")
    first = build("ios", TINY, tmp_path / "a")
    assert not first.reused and first.parity_passed

    def full(*args, **kwargs):
        raise FullBuild

    monkeypatch.setattr(build_module, "_trained_model", full)
    second = build("ios", TINY, tmp_path / "b")
    assert second.reused and second.summary()["reused"]
    (one,), (two,) = first.bundles, second.bundles
    assert one.read_bytes() == two.read_bytes()
    assert second.summary()["parity"] == first.summary()["parity"] and second.models == first.models
    assert second.emulated == first.emulated and second.parity_complete == first.parity_complete
    for kind, path in second.reports.items():
        assert Path(path).is_file() and Path(path).read_bytes() == Path(first.reports[kind]).read_bytes()
    assert not [p for p in (tmp_path / "b").iterdir() if p.name.startswith(".") and "partial" in p.name]

    with pytest.raises(FullBuild):
        build("ios", TINY, tmp_path / "c", rebuild=True)
    with pytest.raises(FullBuild):  # another platform set is another key
        build("all", TINY, tmp_path / "c")
    with pytest.raises(FullBuild):
        build("ios", TINY, tmp_path / "c", require_complete_parity=True)  # iOS on Linux is emulated: the full gate decides
    configs, model_set, _ = load_build_spec(TINY)
    changed = yaml.safe_load(TINY.read_text())
    changed["bundle"]["version"] = "9.9.9"
    other = tmp_path / "changed.yaml"
    other.write_text(yaml.safe_dump(changed))
    assert build_key(load_build_spec(other)[0], None, ("ios",)) != build_key(configs, model_set, ("ios",))

    # a damaged stored bundle fails re-verification, so the full build runs
    entry = cache.cache_root() / "build" / build_key(configs, model_set, ("ios",))
    (stored,) = entry.glob("*.zip")
    with zipfile.ZipFile(stored) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    victim = next(n for n in items if n.startswith("models/") and not n.endswith(".json"))
    with zipfile.ZipFile(stored, "w") as zf:
        for name, data in items.items():
            zf.writestr(name, data + b"x" if name == victim else data)
    with pytest.raises(FullBuild):
        build("ios", TINY, tmp_path / "d")
    monkeypatch.setenv("MOBILEKIT_NO_BUILD_CACHE", "1")
    with pytest.raises(FullBuild):
        build("ios", TINY, tmp_path / "d")
