"""Named optimization variants: what a sweep builds and `optimize.select` chooses from.

A variant is data: an optional training-time pass on the Keras model, the conversion settings
(float precision, TFLite post-training quantization), Core ML compression passes in order, the
numerics class its parity tolerance is declared for, and the share of the fp32 task metric it
is expected to keep. Importing this module imports no TensorFlow (configs validate against it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mobilekit.core.registry import Registry


@dataclass(frozen=True)
class Variant:
    name: str
    target: Literal["coreml", "tflite"]
    description: str
    training_pass: str | None = None  # TRAINING_PASSES name (prune, cluster, qat)
    precision: str = "fp32"  # float precision of the conversion
    quantization: str = "none"  # TFLite post-training quantization
    coreml_passes: tuple[str, ...] = ()  # optimize.coreml.COREML_PASSES, in order
    deployment_target: str | None = None  # lowest Core ML target the compressed format needs
    numerics: str = "fp32"  # tolerance class of its parity gate (see parity/tolerances.yaml)
    expected_retention: float | None = None  # share of the fp32 metric it should keep

    @property
    def steps(self) -> list[str]:
        """What is applied, in order (for manifests and reports)."""
        steps = [f"train:{self.training_pass}"] if self.training_pass else []
        steps.append(f"convert:{self.target}:{self.precision}")
        if self.quantization != "none":
            steps.append(f"tflite:{self.quantization}")
        return steps + [f"coreml:{name}" for name in self.coreml_passes]


VARIANTS: Registry[Variant] = Registry("optimization variant")
ORDER: list[str] = []  # registration order: how reports list variants


def _add(variant: Variant) -> None:
    VARIANTS.register(variant.name, variant)
    ORDER.append(variant.name)


for _variant in (
    Variant("tflite-fp32", "tflite", "TFLite float32 (reference conversion)"),
    Variant("tflite-fp16", "tflite", "TFLite float16 weights", precision="fp16", numerics="fp16"),
    Variant("tflite-dynamic-int8", "tflite", "TFLite dynamic-range int8 weights", quantization="dynamic_int8",
            numerics="w8", expected_retention=0.995),
    Variant("tflite-int8", "tflite", "TFLite full integer int8, float inputs/outputs", quantization="int8",
            numerics="int8", expected_retention=0.98),
    Variant("tflite-int8-io", "tflite", "TFLite full integer int8 with int8 inputs/outputs", quantization="int8_io",
            numerics="int8", expected_retention=0.98),
    Variant("tflite-qat-int8", "tflite", "Quantization-aware training, then TFLite full integer int8",
            training_pass="qat", quantization="int8", numerics="int8", expected_retention=0.98),
    Variant("coreml-fp32", "coreml", "Core ML ML program, float32 compute"),
    Variant("coreml-fp16", "coreml", "Core ML ML program, float16 compute and weights", precision="fp16", numerics="fp16"),
    Variant("coreml-int8", "coreml", "Core ML int8 linear (per-channel symmetric) weights, fp16 compute", precision="fp16",
            coreml_passes=("int8",), numerics="w8", expected_retention=0.995),
    Variant("coreml-palette6", "coreml", "Core ML 6-bit k-means palettized weights", precision="fp16",
            coreml_passes=("palettize6",), numerics="lowbit", expected_retention=0.97),
    Variant("coreml-palette4", "coreml", "Core ML 4-bit k-means palettized weights", precision="fp16",
            coreml_passes=("palettize4",), numerics="lowbit"),
    Variant("coreml-palette2", "coreml", "Core ML 2-bit k-means palettized weights", precision="fp16",
            coreml_passes=("palettize2",), numerics="lowbit"),
    Variant("coreml-sparse", "coreml", "Core ML fp16 with already-zero weights (a pruned model) stored sparse", precision="fp16",
            coreml_passes=("sparsify",), numerics="lowbit"),
    Variant("coreml-pruned50", "coreml", "Core ML post-training magnitude pruning to 50 % sparse weights", precision="fp16",
            coreml_passes=("prune50",), numerics="lowbit"),
    Variant("coreml-pruned50-palette4", "coreml", "Core ML 50 % magnitude pruning + 4-bit palettes of the rest (iOS18)",
            precision="fp16", coreml_passes=("prune50", "palettize4_joint"), deployment_target="iOS18", numerics="lowbit"),
    Variant("coreml-tfmot-sparse", "coreml", "tfmot magnitude pruning with fine-tuning (optimize.prune), sparse Core ML weights",
            training_pass="prune", precision="fp16", coreml_passes=("sparsify",), numerics="lowbit"),
    Variant("coreml-tfmot-sparse-palette4", "coreml", "tfmot pruning with fine-tuning, then sparse + 4-bit palettes (iOS18)",
            training_pass="prune", precision="fp16", coreml_passes=("sparsify", "palettize4_joint"), deployment_target="iOS18",
            numerics="lowbit"),
    Variant("coreml-tfmot-cluster", "coreml", "tfmot weight clustering with fine-tuning (optimize.cluster), lossless per-channel palettes (iOS18)",
            training_pass="cluster", precision="fp16", coreml_passes=("unique_palette",), deployment_target="iOS18", numerics="lowbit"),
):
    _add(_variant)

# Variants a sweep runs when the config names none: everything except QAT, which the sweep adds
# on its own when full-int8 post-training quantization keeps too little of the metric, and
# coreml-sparse, which is for models that arrive already pruned.
AUTO_ONLY = ("tflite-qat-int8", "coreml-sparse")  # coreml-sparse only helps models pruned elsewhere


def default_variants(targets: tuple[str, ...]) -> list[str]:
    return [name for name in ORDER if VARIANTS.get(name).target in targets and name not in AUTO_ONLY]
