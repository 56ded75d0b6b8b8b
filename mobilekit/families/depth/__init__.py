"""Portrait depth: one shared feature extractor, a depth head and a portrait (person mask) head."""
from mobilekit.families.depth.family import DEPTH, DepthFamily

__all__ = ["DEPTH", "DepthFamily"]
