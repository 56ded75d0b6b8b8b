"""Datasets built once and reused: `mobilekit dataset build|list|show|gc` over the content-addressed
cache (`mobilekit.data.cache`). A config's split is named by its source handler, the handler's
version and the options that decide its content, so every experiment asking for the same data
shares one copy."""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from mobilekit.core.errors import InputError
from mobilekit.data.cache.splits import ensure_split
from mobilekit.data.cache.store import SHARD_EXAMPLES, BuildResult, DatasetStore, EntryStatus
from mobilekit.data.sources import SPLITS

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig


def build_datasets(config: "BuildConfig", splits: Sequence[str], store: DatasetStore, *,
                   shard_examples: int = SHARD_EXAMPLES, progress: Callable[[str, int, int], None] | None = None,
                   on_wait: Callable[[str], None] | None = None) -> list[BuildResult]:
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise InputError(f"--split: unknown split {unknown[0]!r}; accepted: {', '.join(SPLITS)}")
    if not 1 <= shard_examples <= 1_000_000:
        raise InputError(f"--shard-examples: {shard_examples} is out of range (accepted: 1 to 1000000)")
    return [ensure_split(config, split, store, shard_examples=shard_examples,
                        progress=(lambda done, total, s=split: progress(s, done, total)) if progress else None,
                        on_wait=(lambda s=split: on_wait(s)) if on_wait else None) for split in splits]


def list_datasets(store: DatasetStore) -> list[dict[str, Any]]:
    return [entry.to_dict() for entry in store.entries()]


def show_dataset(store: DatasetStore, name: str, *, verify: bool = False) -> dict[str, Any]:
    """Everything the index says about one dataset; `verify` re-hashes its shards."""
    try:
        dataset_id = store.resolve(name)
    except KeyError as exc:
        raise InputError(str(exc).strip("'\"")) from None
    entry = store.status(dataset_id)
    out = entry.to_dict()
    if entry.state == "ready":
        out.update(spec=entry.index["spec"], shards=len(entry.index["shards"]), created=entry.index["created"])
        if verify:
            out["verified"] = _verify(store, entry)
    return out


def _verify(store: DatasetStore, entry: EntryStatus) -> list[str]:
    """Shards whose bytes no longer match the index (empty: all good)."""
    from mobilekit.data.cache import files
    from mobilekit.data.cache.store import file_sha256

    return [s["file"] for s in entry.index["shards"]
            if not files.exists(files.join(entry.path, s["file"])) or file_sha256(files.join(entry.path, s["file"])) != s["sha256"]]


_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)B?$", re.IGNORECASE)


def parse_age(text: str) -> float:
    """'30d', '12h', '90m', '45s' -> seconds; InputError otherwise."""
    match = _AGE.match(text.strip())
    if not match:
        raise InputError(f"--older-than: {text!r} is not an age (accepted: a number with s, m, h or d, e.g. 30d)")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def parse_size(text: str) -> int:
    """'500M', '2G', '1024' -> bytes; InputError otherwise."""
    match = _SIZE.match(text.strip())
    if not match:
        raise InputError(f"--max-size: {text!r} is not a size (accepted: bytes or a number with K, M, G or T, e.g. 20G)")
    return int(float(match.group(1)) * 1024 ** " KMGT".index((match.group(2) or " ").upper()))


def gc_datasets(store: DatasetStore, *, older_than: str | None = None, max_size: str | None = None,
                dry_run: bool = False) -> dict[str, Any]:
    if older_than is None and max_size is None:
        raise InputError("dataset gc needs --older-than and/or --max-size (nothing is removed by default)")
    age = parse_age(older_than) if older_than is not None else None
    limit = parse_size(max_size) if max_size is not None else None
    results = store.gc(older_than_s=age, max_bytes=limit, dry_run=dry_run)
    return {"root": store.root, "at": time.time(),
            "datasets": [{"id": e.id, "state": e.state, "bytes": e.bytes, "action": action} for e, action in results],
            "freed_bytes": sum(e.bytes for e, action in results if action == "removed")}
