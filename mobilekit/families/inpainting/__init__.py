"""Inpainting (object removal) family."""
from mobilekit.families.inpainting.family import INPAINTING

__all__ = ["INPAINTING"]
