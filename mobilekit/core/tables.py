"""Data tables shipped inside packages (tolerances, op support): read once, cached."""
from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


@functools.cache
def package_yaml(package: str, name: str) -> Any:
    return yaml.safe_load((resources.files(package) / name).read_text(encoding="utf-8"))
