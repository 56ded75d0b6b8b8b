"""One small generic registry: named entries, duplicates refused unless overridden, lazy entries allowed."""
from __future__ import annotations

import importlib
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to entries. Lazy entries ("module:attr") are imported on first lookup,
    so names can be validated (e.g. in config) without importing heavy modules."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, entry: T | None = None, *, override: bool = False):
        """Register `entry` under `name`; usable as a decorator when `entry` is omitted."""

        def add(obj: T) -> T:
            if name in self._entries and not override:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return add if entry is None else add(entry)

    def register_lazy(self, name: str, target: str, *, override: bool = False) -> None:
        """Register "package.module:attribute", imported when first looked up."""
        if name in self._entries and not override:
            raise KeyError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise KeyError(f"unknown {self.kind} {name!r}; accepted: {', '.join(self.names())}")
        entry = self._entries[name]
        if isinstance(entry, str):
            module_name, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module_name), attr)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self.get(name)

