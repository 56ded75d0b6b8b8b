"""Checks shared by the tests of families that export several modules."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np


def build_ios18_and_android(tiny_config: Path, tmp: Path):
    """`build all` of `tiny_config` with Core ML deployment target iOS18 (one multifunction package):
    (result, dist folder, the config used)."""
    import yaml

    from mobilekit.pipeline.build import build

    data = yaml.safe_load(tiny_config.read_text())
    data["targets"]["coreml"]["deployment_target"] = "iOS18"
    config = tmp / f"{tiny_config.stem}-ios18.yaml"
    config.write_text(yaml.safe_dump(data))
    return build("all", config, tmp / "dist", unpacked=True), tmp / "dist", config


def assert_heads_on_cached_features_match(tflite: Path, package: Path, specs: Mapping, inputs: Mapping[str, np.ndarray],
                                          source: str, heads: Sequence[str], atol: float = 1e-4) -> None:
    """Run module `source` once on LiteRT and on the MIL executor, then each head module on its
    cached outputs (plus any model input it also reads): every head's output equals the
    end-to-end model's."""
    from mobilekit.parity.runners.base import RUNNERS

    for runner_name, path in (("litert", tflite), ("mil-executor", package)):
        runner = RUNNERS.get(runner_name)
        features = runner.run(path, {t.name: inputs[t.name] for t in specs[source].io.inputs}, specs[source].io, function=source)
        end_to_end = runner.run(path, inputs, specs["main"].io, function="main")
        for head in heads:
            feeds = {t.name: features[t.name] if t.name in features else inputs[t.name] for t in specs[head].io.inputs}
            out = runner.run(path, feeds, specs[head].io, function=head)
            for info in specs[head].io.outputs:
                np.testing.assert_allclose(out[info.name], end_to_end[info.name], atol=atol,
                                           err_msg=f"{runner_name}: {head} on cached {source} outputs")
