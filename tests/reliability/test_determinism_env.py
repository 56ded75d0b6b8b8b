"""Same config + same seed + same SOURCE_DATE_EPOCH → the same bundle bytes, whatever the working
directory, time zone, locale and umask of the machine that builds it. Slow: two tiny builds."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from conftest import TINY

pytestmark = pytest.mark.slow


def _build(cwd, env_overrides: dict[str, str], umask: int) -> dict[str, str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", **env_overrides}
    code = (f"import os, sys; os.umask(0o{umask:o}); from mobilekit.cli import main; "
            f"sys.argv = ['mobilekit', 'build', 'all', '--config', {str(TINY)!r}, '--out', 'dist', '--quiet']; main()")
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((cwd / "dist").glob("*.zip"))}


def test_bundles_are_identical_across_cwd_timezone_locale_and_umask(tmp_path):
    first, second = tmp_path / "a", tmp_path / "deeper" / "b c"
    first.mkdir()
    second.mkdir(parents=True)
    one = _build(first, {"TZ": "UTC", "LC_ALL": "C", "LANG": "C"}, 0o022)
    two = _build(second, {"TZ": "Asia/Kolkata", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "MOBILEKIT_NO_CACHE": "1"}, 0o077)
    assert len(one) == 2 and one == two
