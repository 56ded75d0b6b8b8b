"""Builds and tests the Swift package `swift_shaders` (C math vs fixtures) when a Swift toolchain is
installed, and syntax-checks the Metal sources as C++ against a stub <metal_stdlib> when clang++ is.
Cold run on a 2-core Linux box: ~6 s build + ~5 s test."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "swift_shaders"


def _run(cmd: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=PKG.parent)


def _tail(p: subprocess.CompletedProcess, n: int = 4000) -> str:
    return (p.stdout + p.stderr)[-n:]


@pytest.mark.skipif(shutil.which("swift") is None, reason="no Swift toolchain on PATH (swift_shaders needs `swift build` / `swift test`)")
def test_swift_package_builds_and_passes_fixture_tests():
    build = _run(["swift", "build", "--package-path", str(PKG)])
    assert build.returncode == 0, _tail(build)
    test = _run(["swift", "test", "--package-path", str(PKG)])
    out = test.stdout + test.stderr
    assert test.returncode == 0, _tail(test)
    assert "CPUKernelParityTests" in out and " 0 failures" in out, _tail(test)


@pytest.mark.skipif(shutil.which("clang++") is None, reason="no clang++ on PATH to syntax-check the .metal sources")
@pytest.mark.parametrize("metal", sorted((PKG / "Sources" / "MobilekitShaders" / "Metal").glob("*.metal")), ids=lambda p: p.name)
def test_metal_sources_parse_with_shared_header(metal):
    p = _run(["clang++", "-fsyntax-only", "-std=c++14", "-Wno-unknown-attributes", "-Wno-unknown-pragmas",
              "-D__METAL_VERSION__=310", "-I", str(PKG / "Tools" / "msl_stub"), "-x", "c++", str(metal)], timeout=120)
    assert p.returncode == 0, _tail(p)


@pytest.mark.skipif(shutil.which("clang") is None, reason="no clang on PATH")
def test_kernel_math_header_is_strict_c99():
    inc = PKG / "Sources" / "MobilekitKernelMath" / "include"
    p = _run(["clang", "-fsyntax-only", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", str(inc),
              str(PKG / "Sources" / "MobilekitKernelMath" / "mk_image_ops.c")], timeout=120)
    assert p.returncode == 0, _tail(p)
