"""Weight clustering (tfmot): each kernel shares `clusters` values after fine-tuning; on Core ML
the stripped weights map losslessly onto a palette (lookup table + indices)."""
from __future__ import annotations

from typing import Any

import numpy as np

from mobilekit.core.config import ClusterConfig
from mobilekit.core.family import Split
from mobilekit.optimize.fine_tune import fine_tune, pristine_copy, recalibrate_batchnorm, require_keras2, tfmot, wrap_large_kernels, compressible


def cluster_keras(model, split: Split, loss: Any, settings: ClusterConfig, batch_size: int, seed: int = 0):
    """A stripped tf_keras copy of `model` whose kernels hold at most `settings.clusters` distinct
    values each, and a report."""
    require_keras2(model)
    mot = tfmot()
    init = mot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS
    clustered = wrap_large_kernels(pristine_copy(model), lambda layer: mot.clustering.keras.cluster_weights(
        layer, number_of_clusters=settings.clusters, cluster_centroids_init=init))
    losses = fine_tune(clustered, split, loss, settings, batch_size, seed)
    stripped = mot.clustering.keras.strip_clustering(clustered)
    recalibrated = recalibrate_batchnorm(stripped, split, batch_size)
    return stripped, {"pass": "cluster", "clusters": settings.clusters, "max_distinct_values": max_distinct_kernel_values(stripped),
                      "fine_tune_epochs": settings.fine_tune_epochs, "batchnorm_recalibration_batches": recalibrated, "loss": losses}


def max_distinct_kernel_values(model) -> int:
    """Most distinct values in any clustered kernel (kernels too small to compress stay as trained)."""
    kernels = [w.numpy() for w in model.weights if w.name.split("/")[-1].startswith("kernel")]
    return max((len(np.unique(k)) for k in kernels if compressible(k.size)), default=0)
