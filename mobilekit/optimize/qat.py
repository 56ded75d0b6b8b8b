"""Quantization-aware training (tfmot): fake-quantized fine-tuning so full-integer TFLite keeps
the task metric where post-training int8 loses it."""
from __future__ import annotations

from typing import Any

from mobilekit.core.config import QATConfig
from mobilekit.core.family import Split
from mobilekit.optimize.fine_tune import fine_tune, pristine_copy, require_keras2, tfmot


def qat_keras(model, split: Split, loss: Any, settings: QATConfig, batch_size: int, seed: int = 0):
    """A quantization-aware tf_keras copy of `model`, fine-tuned; convert it with TFLite int8."""
    require_keras2(model)
    quantized = tfmot().quantization.keras.quantize_model(pristine_copy(model))
    losses = fine_tune(quantized, split, loss, settings, batch_size, seed)
    return quantized, {"pass": "qat", "fine_tune_epochs": settings.fine_tune_epochs, "loss": losses}
