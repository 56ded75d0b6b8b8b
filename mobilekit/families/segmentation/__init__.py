"""Click-guided object selection: RGB + click distance maps -> mask (Xu et al. 2016)."""
from mobilekit.families.segmentation.family import SEGMENTATION, SegmentationFamily

__all__ = ["SEGMENTATION", "SegmentationFamily"]
