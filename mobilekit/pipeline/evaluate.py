"""`eval`: task quality of a reference model on the config's held-out data."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mobilekit.core.config import load_config
from mobilekit.core.progress import Reporter, SilentReporter


def evaluate(config_path: Path | str | None = None, model_path: Path | None = None, *, trust: bool = False,
             reporter: Reporter | None = None) -> dict[str, Any]:
    """Evaluate `model_path` (default: the model the config trains, from cache or trained now)."""
    config, _ = load_config(config_path)
    reporter = reporter or SilentReporter()
    from mobilekit.convert.tracing import call_serving, serving_function
    from mobilekit.nn.loading import load_keras_model
    from mobilekit.core.family import get_family

    family = get_family(config.family)
    given = model_path
    with tempfile.TemporaryDirectory(prefix="mobilekit-eval-") as work:
        if model_path is None:
            from mobilekit.train.trainer import train

            reporter.stage(f"training {config.family}/{config.preset} (or reusing the cached model)")
            model_path = train(config, Path(work), progress=reporter.progress).model_path
        model = load_keras_model(Path(model_path), trust=trust)
        reporter.stage("evaluating on held-out data")
        fn = serving_function(model, family.io(config))
        quality = family.evaluate(lambda inputs: call_serving(fn, inputs), config)
    return {**quality, "params": int(model.count_params()), "model": str(given) if given else None, "samples": config.data.val_samples,
            "family": config.family, "preset": config.preset, "config_sha256": config.sha256()}
