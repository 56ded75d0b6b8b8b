"""Shared data plumbing for every family's sources: versioned source handlers, reproducible
per-split streams and a deterministic held-out split of finite sample lists."""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TypeVar

import numpy as np

from mobilekit.core.errors import InputError

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig
    from mobilekit.core.family import ModelFamily

SPLITS = ("train", "val", "parity")
T = TypeVar("T")


@dataclass(frozen=True)
class SourceHandler:
    """A family's data source: `fn(config, split, rng)` yields samples. `version` is bumped whenever
    the handler's output changes for the same options; `options` are the dotted config paths
    (besides `data.*` and `seed`) that decide its content; `fingerprint(config)` identifies the
    files it reads, so a dataset cached from a folder is rebuilt when the folder changes."""

    fn: Callable[..., Iterator[Any]]
    version: int = 1
    options: tuple[str, ...] = ()
    fingerprint: Callable[["BuildConfig"], str] | None = None

    def __call__(self, config: "BuildConfig", split: str, rng: np.random.Generator) -> Iterator[Any]:
        return self.fn(config, split, rng)


def source_handler(version: int = 1, options: Sequence[str] = (), fingerprint: Callable | None = None):
    """Decorator: wrap a source function in a `SourceHandler` (register the result)."""
    return lambda fn: SourceHandler(fn, version, tuple(options), fingerprint)


def folder_fingerprint(*roots: Path | str | None) -> str:
    """sha256 over (relative path, size, mtime) of every file under `roots`, or of a root that is a
    file itself (missing roots count as empty)."""
    digest = hashlib.sha256()
    for root in roots:
        root = Path(root) if root is not None else None
        if root is not None and root.is_file():
            stat = root.stat()
            digest.update(f"{root.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            continue
        if root is None or not root.is_dir():
            digest.update(b"-")
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def split_rng(seed: int, split: str) -> np.random.Generator:
    """An independent, reproducible stream per (seed, split)."""
    return np.random.default_rng([seed, zlib.crc32(split.encode())])


def held_out(samples: Sequence[T], split: str, rng: np.random.Generator) -> Iterator[T]:
    """Deterministic 80/10/10 split of a finite sample list by position, shuffled per split."""
    if not samples:
        raise InputError("the data source yielded no samples")
    bucket = {"train": (0.0, 0.8), "val": (0.8, 0.9), "parity": (0.9, 1.0)}[split]
    order = np.random.default_rng(0).permutation(len(samples))
    lo, hi = (int(b * len(samples)) for b in bucket)
    chosen = [samples[i] for i in order[lo:max(hi, lo + 1)]]
    while True:
        for i in rng.permutation(len(chosen)):
            yield chosen[i]


def iter_samples(family: "ModelFamily", config: "BuildConfig", split: str) -> Iterator:
    """The samples of `split` from the config's source (one of `family.sources`)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    return iter(family.sources.get(config.data.source)(config, split, split_rng(config.seed, split)))
