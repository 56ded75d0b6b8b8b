"""Resource preflight: the memory a config needs, estimated before anything is allocated.

Each field of a config can be within its limits while the config as a whole is absurd (2048×2048
images × 1,000,000 samples is 45 TiB of float32). `require_memory_within_limit` adds up what
training holds at once and refuses (InputError, exit 2) with the estimate and the fields to lower:

- **dataset**: every sample of the train, validation and parity splits, inputs and targets, float32
  (the splits are materialised in memory);
- **activations** (when the model is known): every layer's output for one batch, kept for the
  backward pass, plus its gradient and one working copy (×3);
- **weights**: the weights, their gradients and Adam's two moments (×4).

The limit is `MOBILEKIT_MEMORY_LIMIT` (bytes, or with a K/M/G/T suffix, e.g. `12G`) or, by default,
80 % of the memory available now (`MemAvailable`). The estimate is a floor (TensorFlow's own
buffers come on top); it exists to stop the absurd, not to budget to the last MiB.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mobilekit.core.config import BuildConfig
from mobilekit.core.errors import InputError

LIMIT_ENV = "MOBILEKIT_MEMORY_LIMIT"
DEFAULT_FRACTION = 0.8
FLOAT_BYTES = 4
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def parse_size(text: str, where: str = LIMIT_ENV) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise InputError(f"{where}: {text!r} is not a size; accepted: bytes or a number with K, M, G or T (e.g. 12G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def available_memory() -> int:
    """Bytes the kernel says can be allocated now (MemAvailable), else physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 << 30


def memory_limit(limit: int | None = None) -> tuple[int, str]:
    """(bytes, where it came from)."""
    if limit is not None:
        return limit, "the given limit"
    if os.environ.get(LIMIT_ENV):
        return parse_size(os.environ[LIMIT_ENV]), LIMIT_ENV
    return int(available_memory() * DEFAULT_FRACTION), f"{DEFAULT_FRACTION:.0%} of the memory available now (set {LIMIT_ENV} to change)"


@dataclass
class MemoryEstimate:
    parts: dict[str, int] = field(default_factory=dict)  # what -> bytes
    details: dict[str, str] = field(default_factory=dict)  # what -> how it was counted

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def describe(self) -> str:
        return "; ".join(f"{k} {format_bytes(v)} ({self.details[k]})" for k, v in self.parts.items())


def _elements(shape) -> int:
    return int(np.prod([int(d) for d in shape[1:]], dtype=np.int64))


def estimate_dataset(config: BuildConfig) -> MemoryEstimate:
    """The splits' inputs and targets (one target per model output), float32."""
    from mobilekit.core.family import get_family

    io = get_family(config.family).io(config)
    per_sample = sum(_elements(t.shape) for t in (*io.inputs, *io.outputs))
    data = config.data
    if data.stream:  # the train split is read from the cache: shuffle buffer, hook pool and prefetched batches
        resident = min(data.train_samples, data.shuffle_buffer + data.hook_pool + 2 * config.training.batch_size)
        what = (f"{resident:,} streamed training samples held (data.shuffle_buffer + hook_pool + 2 batches) + val_samples "
                "+ parity_samples")
    else:
        resident, what = data.train_samples, "data.train_samples + val_samples + parity_samples"
    samples = resident + data.val_samples + data.parity_samples
    estimate = MemoryEstimate()
    estimate.parts["dataset"] = samples * per_sample * FLOAT_BYTES
    estimate.details["dataset"] = (f"{samples:,} samples ({what}) × "
                                   f"{per_sample:,} float32 values at data.image_size {data.image_size[0]}×{data.image_size[1]}")
    return estimate


def estimate_model(config: BuildConfig, model: Any, estimate: MemoryEstimate | None = None) -> MemoryEstimate:
    """Add one batch's activations and the training state of the weights."""
    estimate = estimate or MemoryEstimate()
    batch = config.training.batch_size
    activations = 0
    for layer in model.layers:
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        activations += sum(_elements(t.shape) for t in outputs if t.shape.rank)
    estimate.parts["activations"] = activations * batch * FLOAT_BYTES * 3
    estimate.details["activations"] = f"{activations:,} values per sample × training.batch_size {batch} × 3 (kept, gradient, working copy)"
    weights = int(model.count_params())
    estimate.parts["weights"] = weights * FLOAT_BYTES * 4
    estimate.details["weights"] = f"{weights:,} parameters × 4 (weights, gradients, Adam moments)"
    return estimate


def require_memory_within_limit(config: BuildConfig, where: str, estimate: MemoryEstimate, *, limit: int | None = None) -> None:
    """InputError (exit 2) naming the config, the estimate and the fields to lower when it does not fit."""
    allowed, source = memory_limit(limit)
    if estimate.total <= allowed:
        return
    raise InputError(f"{where}: training this config needs about {format_bytes(estimate.total)} of memory "
                     f"({estimate.describe()}), over the limit of {format_bytes(allowed)} ({source}); "
                     "lower data.train_samples, data.image_size or training.batch_size")
