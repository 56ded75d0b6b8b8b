"""Model families, registered by name. Entries are lazy so config validation stays light."""
from __future__ import annotations

from mobilekit.core.registry import Registry
from mobilekit.models.base import ModelFamily

FAMILIES: Registry[ModelFamily] = Registry("model family")
FAMILIES.register_lazy("segmentation", "mobilekit.models.segmentation:SEGMENTATION")


def get_family(name: str) -> ModelFamily:
    return FAMILIES.get(name)
