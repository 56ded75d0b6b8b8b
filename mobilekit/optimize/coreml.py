"""Post-training Core ML weight compression (`coremltools.optimize.coreml`) as named passes,
applied in order to a saved ML program. Weights under coremltools' size threshold (2048
elements) stay as they are in every pass."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from mobilekit.core.registry import Registry

CoreMLPass = Callable[[Any], Any]  # MLModel -> MLModel
COREML_PASSES: Registry[CoreMLPass] = Registry("Core ML compression pass")


def _cto():
    import coremltools.optimize.coreml as cto

    return cto


def _palettize(nbits: int, joint: bool = False) -> CoreMLPass:
    def apply(mlmodel):
        cto = _cto()
        config = cto.OptimizationConfig(global_config=cto.OpPalettizerConfig(mode="kmeans", nbits=nbits))
        return cto.palettize_weights(mlmodel, config, joint_compression=joint) if joint else cto.palettize_weights(mlmodel, config)

    return apply


WEIGHT_THRESHOLD = 2048  # coremltools' default weight_threshold: only weights with more values are compressed


def compressible(values: int) -> bool:
    """Whether a weight of `values` elements is compressed: by coremltools' passes, and therefore by
    the tfmot passes too (a smaller kernel pruned while training would stay dense on disk)."""
    return values > WEIGHT_THRESHOLD


def _magnitude_prune(sparsity: float) -> CoreMLPass:
    """Zero the `sparsity` share of smallest-magnitude values of every weight tensor.

    Thresholds are computed here in float32 and applied with a per-constant threshold pruner:
    coremltools' own magnitude pruner takes the percentile in the weights' dtype, which for fp16
    tensors of more than 65504 values overflows and leaves them dense."""

    def apply(mlmodel):
        import numpy as np

        from mobilekit.parity.mil import load_program
        from mobilekit.parity.mil.program import iter_ops

        cto = _cto()
        configs = {}
        for op in iter_ops(load_program(mlmodel).function().operations):
            value = op.outputs[0].val if op.op_type == "const" else None
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and compressible(value.size):
                threshold = float(np.percentile(np.abs(value.astype(np.float32)), sparsity * 100))
                configs[op.name] = cto.OpThresholdPrunerConfig(threshold=threshold, minimum_sparsity_percentile=0.0)
        return cto.prune_weights(mlmodel, cto.OptimizationConfig(op_name_configs=configs))

    return apply


def _linear_int8(mlmodel):
    cto = _cto()
    config = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel")
    return cto.linear_quantize_weights(mlmodel, cto.OptimizationConfig(global_config=config))


def _sparsify(mlmodel):
    """Store weights that are already mostly zero (training-time pruning) in the sparse format."""
    cto = _cto()
    config = cto.OpThresholdPrunerConfig(threshold=1e-12, minimum_sparsity_percentile=0.1)
    return cto.prune_weights(mlmodel, cto.OptimizationConfig(global_config=config))


def _unique_palette(mlmodel):
    """Lossless palettes for weights with few distinct values (training-time clustering): one per
    output channel, because conversion folds BatchNorm's per-channel scale into the clustered
    kernel (iOS18 grouped-channel palettes)."""
    cto = _cto()
    config = cto.OpPalettizerConfig(mode="unique", granularity="per_grouped_channel", group_size=1)
    return cto.palettize_weights(mlmodel, cto.OptimizationConfig(global_config=config))


COREML_PASSES.register("int8", _linear_int8)
COREML_PASSES.register("palettize6", _palettize(6))
COREML_PASSES.register("palettize4", _palettize(4))
COREML_PASSES.register("palettize2", _palettize(2))
COREML_PASSES.register("prune50", _magnitude_prune(0.5))
COREML_PASSES.register("sparsify", _sparsify)
COREML_PASSES.register("palettize4_joint", _palettize(4, joint=True))  # keeps the sparse mask (iOS18)
COREML_PASSES.register("unique_palette", _unique_palette)


def compress_mlpackage(path: Path, passes: tuple[str, ...]) -> None:
    """Apply `passes` to the `.mlpackage` at `path` in place (written beside it, then swapped)."""
    if not passes:
        return
    import coremltools as ct

    from mobilekit.convert.mlpackage import normalize_mlpackage

    mlmodel = ct.models.MLModel(str(path), skip_model_load=True)
    for name in passes:
        mlmodel = COREML_PASSES.get(name)(mlmodel)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".compress-") as tmp:
        staged = Path(tmp) / path.name
        mlmodel.save(str(staged))
        normalize_mlpackage(staged)
        shutil.rmtree(path)
        staged.rename(path)
