"""Weight clustering (tfmot): each kernel shares `clusters` values after fine-tuning; on Core ML
the stripped weights map losslessly onto a palette (lookup table + indices)."""
from __future__ import annotations

from typing import Any

import numpy as np

from mobilekit.core.config import ClusterConfig
from mobilekit.models.base import Split
from mobilekit.optimize.fine_tune import fine_tune, pristine_copy, require_keras2, tfmot


def cluster_keras(model, split: Split, loss: Any, settings: ClusterConfig, batch_size: int, seed: int = 0):
    """A stripped tf_keras copy of `model` whose kernels hold at most `settings.clusters` distinct
    values each, and a report."""
    require_keras2(model)
    mot = tfmot()
    init = mot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS
    clustered = mot.clustering.keras.cluster_weights(pristine_copy(model), number_of_clusters=settings.clusters, cluster_centroids_init=init)
    losses = fine_tune(clustered, split, loss, settings, batch_size, seed)
    stripped = mot.clustering.keras.strip_clustering(clustered)
    return stripped, {"pass": "cluster", "clusters": settings.clusters, "max_distinct_values": max_distinct_kernel_values(stripped),
                      "fine_tune_epochs": settings.fine_tune_epochs, "loss": losses}


def max_distinct_kernel_values(model) -> int:
    return max((len(np.unique(w.numpy())) for w in model.weights if w.name.split("/")[-1].startswith("kernel")), default=0)
