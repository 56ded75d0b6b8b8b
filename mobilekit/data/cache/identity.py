"""What names a cached dataset: the source handler (name and version), the family's example
version and the canonical hash of exactly the options that decide the content."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mobilekit.core.family import split_size

if TYPE_CHECKING:
    from mobilekit.core.config import BuildConfig
    from mobilekit.core.family import ModelFamily


@dataclass(frozen=True)
class DatasetKey:
    """A dataset's identity. `content` is everything that decides its bytes; `id` (readable name
    plus 16 hex digits of its hash) names the cache entry."""

    name: str
    content: dict[str, Any]

    @property
    def digest(self) -> str:
        return hashlib.sha256(canonical(self.content).encode()).hexdigest()

    @property
    def id(self) -> str:
        return f"{self.name}-{self.digest[:16]}"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def config_value(config: "BuildConfig", path: str) -> Any:
    """The JSON value at a dotted config path (`segmentation.coco`); KeyError naming the path."""
    node: Any = config.model_dump(mode="json")
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"config has no field '{path}'")
        node = node[part]
    return node


def dataset_key(family: "ModelFamily", config: "BuildConfig", split: str) -> DatasetKey:
    """The identity of `split` of the dataset `config` trains on."""
    handler = family.sources.get(config.data.source)
    paths = tuple(getattr(handler, "options", ())) + tuple(family.example_options)
    fingerprint = getattr(handler, "fingerprint", None)
    height, width = config.data.image_size
    count = split_size(config, split)  # type: ignore[arg-type]
    content = {
        "handler": f"{family.name}/{config.data.source}",
        "handler_version": int(getattr(handler, "version", 1)),
        "examples_version": family.examples_version,
        "split": split,
        "count": count,
        "seed": config.seed,
        "image_size": [height, width],
        "augment": config.data.augment,
        "options": {path: config_value(config, path) for path in sorted(set(paths))},
        "files": fingerprint(config) if fingerprint else None,
        "storage": dict(sorted(family.example_storage.items())),
    }
    return DatasetKey(f"{family.name}-{config.data.source}-{split}-{height}x{width}-n{count}", content)
