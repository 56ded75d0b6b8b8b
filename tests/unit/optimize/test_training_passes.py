"""Training-time passes (tfmot, Keras 2 API): pruning, clustering, QAT on a small conv net."""
from __future__ import annotations

import numpy as np
import pytest

from optimize_fixtures import data, small_net  # noqa: F401  (data is a fixture)
from mobilekit.core.config import ClusterConfig, PruneConfig, QATConfig
from mobilekit.core.errors import InputError


def test_pruning_reaches_the_target_sparsity_and_is_stripped(data):
    from mobilekit.optimize.prune import kernel_sparsity, prune_keras

    model = small_net()
    pruned, report = prune_keras(model, data, "binary_crossentropy", PruneConfig(sparsity=0.6, fine_tune_epochs=2), 8)
    assert report["pruned_kernel_sparsity"] == pytest.approx(0.6, abs=0.01)
    assert kernel_sparsity(pruned) == report["kernel_sparsity"] < report["pruned_kernel_sparsity"]
    assert np.count_nonzero(pruned.get_layer("mask").kernel.numpy()) == 64, "small layers stay dense"
    assert not any("prune" in w.name for w in pruned.weights), "pruning wrappers must be stripped"
    assert kernel_sparsity(model) == 0.0, "the input model is left as it was"


def test_clustering_leaves_at_most_n_distinct_values_per_kernel(data):
    from mobilekit.optimize.cluster import cluster_keras

    clustered, report = cluster_keras(small_net(), data, "binary_crossentropy", ClusterConfig(clusters=8, fine_tune_epochs=1), 8)
    for name in ("c2", "c3"):
        kernel = clustered.get_layer(name).kernel.numpy()
        assert len(np.unique(kernel)) <= 8
    assert report["max_distinct_values"] <= 8


def test_each_pass_works_on_its_own_copy(data):
    """tfmot wrappers share and extend the variables of the layers they wrap; every pass clones
    first, so QAT still works after clustering and the given model keeps its weights."""
    from mobilekit.optimize.cluster import cluster_keras
    from mobilekit.optimize.prune import prune_keras
    from mobilekit.optimize.qat import qat_keras

    model = small_net()
    weights_before = [w.copy() for w in model.get_weights()]
    cluster_keras(model, data, "binary_crossentropy", ClusterConfig(clusters=8, fine_tune_epochs=0), 8)
    prune_keras(model, data, "binary_crossentropy", PruneConfig(fine_tune_epochs=1), 8)
    quantized, report = qat_keras(model, data, "binary_crossentropy", QATConfig(fine_tune_epochs=1), 8)
    assert report["pass"] == "qat" and any("quant" in layer.name for layer in quantized.layers)
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, model.get_weights()))


def test_keras3_models_get_a_clear_refusal(data):
    import keras  # Keras 3, the package users mostly bring models from

    from mobilekit.optimize.prune import prune_keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(InputError, match="tf_keras"):
        prune_keras(model, data, "mse", PruneConfig(), 8)
