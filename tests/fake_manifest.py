"""A minimal single-model segmentation manifest (schema 1.0) for tests that write fixtures or bundles
without building a model: image + clicks in, mask out, one artifact with its parity gate."""
from __future__ import annotations

from typing import Any

IMAGE_NORM = {"scale": 1 / 255, "bias": 0.0, "mean": [0.0] * 3, "std": [255.0] * 3}


def fake_manifest(height: int, width: int, *, platform: str = "android", target: str = "tflite",
                  path: str = "models/fake.tflite", precision: str = "fp32", runner: str = "litert",
                  tolerance: dict[str, Any] | None = None) -> dict[str, Any]:
    tensor = {"dtype": "float32", "description": "", "normalization": {}}
    return {
        "schema_version": "1.0", "name": "fake", "version": "0.1.0", "platform": platform, "family": "segmentation",
        "preset": "tiny", "description": "", "author": "t", "license": "MIT", "created": "1980-01-01T00:00:00Z",
        "config_sha256": "0" * 64, "files": {},
        "inputs": [{**tensor, "name": "image", "shape": [1, height, width, 3], "kind": "image", "color_layout": "RGB",
                    "normalization": IMAGE_NORM},
                   {**tensor, "name": "clicks", "shape": [1, height, width, 2], "kind": "tensor"}],
        "outputs": [{**tensor, "name": "mask", "shape": [1, height, width, 1], "kind": "tensor"}],
        "artifacts": [{"target": target, "path": path, "precision": precision, "bytes": 4, "details": {}}],
        "parity": {path: {"target": target, "precision": precision, "runner": runner, "status": "passed",
                          "tolerance": tolerance or {"max_abs": 1e-4, "min_task_metric": 0.999}}},
        "parity_passed": True, "parity_complete": True, "optimization": {}, "custom_kernels": [], "model": {}, "toolchain": {},
    }
