"""Toolchain versions and what this machine can verify (recorded in manifests, shown by `doctor`)."""
from __future__ import annotations

import platform
import shutil
import subprocess
from importlib import metadata

PACKAGES = {
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "tf-keras": ("tf-keras",),
    "coremltools": ("coremltools",),
    "tflite-support": ("tflite-support",),
    "ai-edge-litert": ("ai-edge-litert",),
    "onnx": ("onnx",),
    "onnxruntime": ("onnxruntime",),
    "tf2onnx": ("tf2onnx",),
    "tensorflow-model-optimization": ("tensorflow-model-optimization",),
    "numpy": ("numpy",),
}


def package_version(*dists: str) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def toolchain_versions() -> dict[str, str | None]:
    from mobilekit import __version__

    versions = {"mobilekit": __version__, "python": platform.python_version()}
    versions.update({name: package_version(*dists) for name, dists in PACKAGES.items()})
    return versions


def swift_version() -> str | None:
    if not shutil.which("swift"):
        return None
    try:
        out = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out else None
