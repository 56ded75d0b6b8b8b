"""The coverage matrix's tolerance: 80 dB for a well-conditioned reference, the reference's own floor
less 10 dB for one that stays chaotic; the weight-ulp floor restores the model's weights exactly."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.convert.context import ModelContext, parity_inputs, reference_outputs
from mobilekit.core.tf import tf_and_keras
from mobilekit.nn.keras_io import model_io
from mobilekit.qa.coverage_matrix import (CONDITIONING_MARGIN_DB, FLOOR_SLACK_DB, MIN_PSNR_DB, reference_conditioning,
                                          row_tolerance_db, weight_conditioning)


def test_tolerance_follows_the_reference_floor():
    assert row_tolerance_db(None) == MIN_PSNR_DB
    assert row_tolerance_db(MIN_PSNR_DB + CONDITIONING_MARGIN_DB) == MIN_PSNR_DB
    assert row_tolerance_db(95.0) == MIN_PSNR_DB  # never stricter than the fixed tolerance
    assert row_tolerance_db(50.0) == 50.0 - FLOOR_SLACK_DB


def test_floors_of_a_small_net_are_high_and_weights_come_back_unchanged():
    _, keras = tf_and_keras()
    inp = keras.Input((8, 8, 3), name="image")
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Conv2D(4, 3, activation="relu")(inp)))
    ctx = ModelContext(model, model_io(model), Path("small.keras"))
    inputs = parity_inputs(ctx, 2)
    expected = reference_outputs(ctx, inputs)
    before = [w.copy() for w in model.get_weights()]
    assert weight_conditioning(ctx, inputs, expected) > 100 and reference_conditioning(ctx, inputs, expected) > 100
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
