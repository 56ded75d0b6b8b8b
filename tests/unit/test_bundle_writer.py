import json
import zipfile

import pytest

from mobilekit.bundle.reader import verify_bundle
from mobilekit.bundle.writer import zip_tree
from mobilekit.core.clock import FIXED_EPOCH, artifact_epoch
from mobilekit.core.errors import InputError
from mobilekit.core.fsio import safe_extract_zip, staging_dir


def _tree(root):
    (root / "b").mkdir(parents=True)
    (root / "b" / "z.bin").write_bytes(b"\x00" * 100)
    (root / "a.txt").write_text("hello")
    return root


def test_zip_is_deterministic_sorted_and_timestamped(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    src = _tree(tmp_path / "src")
    zip_tree(src, tmp_path / "one.zip")
    (src / "a.txt").touch()  # a newer mtime must not matter
    zip_tree(src, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["a.txt", "b/z.bin"]
        assert all(i.date_time == (2023, 11, 14, 22, 13, 20) for i in infos)
        assert all((i.external_attr >> 16) == 0o100644 for i in infos)


def test_epoch_defaults_to_fixed_value(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert artifact_epoch() == FIXED_EPOCH
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(InputError):
        artifact_epoch()


def test_staging_dir_keeps_the_old_tree_on_failure(tmp_path):
    final = tmp_path / "out"
    with staging_dir(final) as tmp:
        (tmp / "good").write_text("1")
    with pytest.raises(RuntimeError):
        with staging_dir(final) as tmp:
            (tmp / "half").write_text("partial")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in final.iterdir()) == ["good"]
    assert not [p for p in tmp_path.iterdir() if p.name != "out"]


def test_safe_extract_refuses_traversal(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(InputError, match="outside"):
        safe_extract_zip(archive, tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists()


def test_verify_rejects_non_bundles(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a mobilekit bundle"):
        verify_bundle(junk)
    with zipfile.ZipFile(tmp_path / "nomanifest.zip", "w") as zf:
        zf.writestr("a", "b")
    with pytest.raises(InputError):
        verify_bundle(tmp_path / "nomanifest.zip")
    with zipfile.ZipFile(tmp_path / "badschema.zip", "w") as zf:
        zf.writestr("manifest.json", json.dumps({"schema_version": "9"}))
    result = verify_bundle(tmp_path / "badschema.zip")
    assert not result.ok and any("manifest schema" in p for p in result.problems)
