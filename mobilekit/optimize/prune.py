"""Magnitude pruning with a polynomial-decay sparsity schedule (tfmot), fine-tuned, then stripped."""
from __future__ import annotations

from typing import Any

import numpy as np

from mobilekit.core.config import PruneConfig
from mobilekit.core.errors import InputError
from mobilekit.core.family import Split
from mobilekit.optimize.fine_tune import (fine_tune, pristine_copy, recalibrate_batchnorm, require_keras2, steps_per_epoch, tfmot,
                                          wrap_large_kernels, compressible)

RAMP_SHARE = 0.7  # sparsity reaches its target after 70 % of the steps; the rest fine-tunes the fixed mask


def prune_keras(model, split: Split, loss: Any, settings: PruneConfig, batch_size: int, seed: int = 0):
    """A stripped tf_keras copy of `model` with `settings.sparsity` of every prunable kernel at zero,
    and a report (measured sparsity, loss history)."""
    require_keras2(model)
    if settings.fine_tune_epochs < 1:
        raise InputError("optimize.prune.fine_tune_epochs must be ≥ 1: tfmot prunes while training")
    mot = tfmot()
    steps = steps_per_epoch(split, batch_size) * settings.fine_tune_epochs
    end = max(1, int(steps * RAMP_SHARE))
    schedule = mot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=settings.sparsity,
                                                  begin_step=0, end_step=end, frequency=max(1, end // 10))
    pruned = wrap_large_kernels(pristine_copy(model), lambda layer: mot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule))
    losses = fine_tune(pruned, split, loss, settings, batch_size, seed, [mot.sparsity.keras.UpdatePruningStep()])
    stripped = mot.sparsity.keras.strip_pruning(pruned)
    recalibrated = recalibrate_batchnorm(stripped, split, batch_size)
    return stripped, {"pass": "prune", "target_sparsity": settings.sparsity, "kernel_sparsity": kernel_sparsity(stripped),
                      "pruned_kernel_sparsity": kernel_sparsity(stripped, compressible),
                      "fine_tune_epochs": settings.fine_tune_epochs, "batchnorm_recalibration_batches": recalibrated, "loss": losses}


def kernel_sparsity(model, include=lambda values: True) -> float:
    """Share of zeros over the conv / dense kernels whose size `include` accepts (default: all of
    them, including the small ones pruning leaves dense)."""
    kernels = [w.numpy() for w in model.weights if w.name.split("/")[-1].startswith(("kernel", "depthwise_kernel"))]
    kernels = [k for k in kernels if include(k.size)]
    total = sum(k.size for k in kernels)
    return round(float(sum(np.count_nonzero(k == 0) for k in kernels)) / total, 4) if total else 0.0
