"""Size accounting read back from converted files, and what each post-training variant stores."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimize_fixtures import small_net
from mobilekit.core.config import OptimizeConfig

VARIANTS = ("tflite-fp32", "tflite-dynamic-int8", "tflite-int8-io", "coreml-fp16", "coreml-palette4", "coreml-pruned50")


class _Arrays:
    def __init__(self, inputs):
        self.inputs = inputs

    def calibration(self, samples):
        return {k: v[:samples] for k, v in self.inputs.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from mobilekit.nn.keras_io import model_io
    from mobilekit.optimize.accounting import weight_stats
    from mobilekit.optimize.produce import VariantProducer
    from mobilekit.convert.context import ModelContext

    model = small_net()
    rng = np.random.default_rng(1)
    inputs = {"image": rng.random((16, 32, 32, 3), dtype=np.float32), "clicks": rng.random((16, 32, 32, 2), dtype=np.float32)}
    ctx = ModelContext(model, model_io(model), Path("net.keras"))
    producer = VariantProducer(ctx, OptimizeConfig(calibration_samples=16), _Arrays(inputs))
    out = tmp_path_factory.mktemp("variants")
    artifacts = {name: producer.produce(name, out / name)[0] for name in VARIANTS}
    return artifacts, {name: weight_stats(a.path) for name, a in artifacts.items()}, inputs, ctx


def test_parameter_counts_agree_across_formats(built):
    _, stats, _, _ = built
    counts = {name: s["params"] for name, s in stats.items()}
    assert max(counts.values()) / min(counts.values()) < 1.01, counts


def test_bits_per_weight_match_the_storage_format(built):
    _, stats, _, _ = built
    assert stats["tflite-fp32"]["bits_per_weight"] == pytest.approx(32, abs=0.5)
    assert stats["coreml-fp16"]["bits_per_weight"] == pytest.approx(16, abs=0.5)
    assert stats["tflite-dynamic-int8"]["bits_per_weight"] < 10
    assert stats["tflite-int8-io"]["bits_per_weight"] < 10
    assert stats["coreml-palette4"]["bits_per_weight"] < 5.5
    assert stats["tflite-dynamic-int8"]["bytes"] < 0.4 * stats["tflite-fp32"]["bytes"]
    assert stats["coreml-palette4"]["bytes"] < 0.45 * stats["coreml-fp16"]["bytes"]


def test_pruned_core_ml_weights_are_sparse_on_disk(built):
    from mobilekit.parity.mil import load_program

    artifacts, stats, _, _ = built
    assert stats["coreml-pruned50"]["sparsity"] >= 0.45
    assert stats["coreml-pruned50"]["bytes"] < 0.8 * stats["coreml-fp16"]["bytes"]
    assert "constexpr_sparse_to_dense" in load_program(artifacts["coreml-pruned50"].path).op_types()


def test_int8_io_model_runs_with_quantized_inputs(built):
    from ai_edge_litert.interpreter import Interpreter

    from mobilekit.parity.runners.litert import LITERT_XNNPACK
    from mobilekit.convert.context import reference_outputs

    artifacts, _, inputs, ctx = built
    path = artifacts["tflite-int8-io"].path
    details = Interpreter(model_path=str(path)).get_signature_runner("serving_default").get_input_details()
    assert {np.dtype(d["dtype"]) for d in details.values()} == {np.dtype(np.int8)}
    few = {k: v[:4] for k, v in inputs.items()}
    candidate = LITERT_XNNPACK.run(path, few, ctx.io)["mask"]
    reference = reference_outputs(ctx, few)["mask"]
    assert candidate.dtype == np.float32 and np.abs(candidate - reference).max() < 0.05
