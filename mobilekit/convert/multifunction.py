"""One Core ML package holding several modules as functions (iOS18 multifunction models): the
weights shared between functions (an extractor used by the end-to-end function and by itself)
are stored once."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Mapping

from mobilekit.convert.mlpackage import normalize_mlpackage
from mobilekit.core.native import import_coremltools

MIN_DEPLOYMENT_TARGET = 18  # iOS18: the first with multifunction models


def supports_multifunction(deployment_target: str) -> bool:
    return int(deployment_target.removeprefix("iOS")) >= MIN_DEPLOYMENT_TARGET


def combine_functions(packages: Mapping[str, Path], out_path: Path, default: str) -> Path:
    """Save `packages` (function name -> single-function .mlpackage) as one multifunction package
    whose default function is `default`; deterministic bytes like any of our packages."""
    ct = import_coremltools()
    descriptor = ct.utils.MultiFunctionDescriptor()
    for name, package in sorted(packages.items()):
        descriptor.add_function(str(package), src_function_name="main", target_function_name=name)
    descriptor.default_function_name = default
    if out_path.exists():
        shutil.rmtree(out_path)
    # save_multifunction shares only constants of 100+ values by default (`const_deduplication`'s
    # const_threshold); biases and depthwise kernels of a mobile network are smaller than that.
    from coremltools.converters.mil.mil.passes.pass_registry import PASS_REGISTRY

    dedup = PASS_REGISTRY["common::const_deduplication"]
    threshold = dedup.const_threshold
    dedup.const_threshold = 1
    try:
        ct.utils.save_multifunction(descriptor, str(out_path))
    finally:
        dedup.const_threshold = threshold
    _copy_metadata(ct, packages[default], out_path)
    normalize_mlpackage(out_path)
    return out_path


def _copy_metadata(ct, source: Path, package: Path) -> None:
    """Descriptions, author/license/version and user metadata of the default function's package
    (save_multifunction keeps only the programs)."""
    src = ct.models.MLModel(str(source), skip_model_load=True).get_spec()
    model = ct.models.MLModel(str(package), skip_model_load=True)
    spec = model.get_spec()
    spec.description.metadata.CopyFrom(src.description.metadata)
    saved = ct.models.MLModel(spec, weights_dir=model.weights_dir, skip_model_load=True)
    staging = package.with_name(f".{package.stem}-metadata.mlpackage")
    saved.save(str(staging))
    shutil.rmtree(package)
    staging.rename(package)
