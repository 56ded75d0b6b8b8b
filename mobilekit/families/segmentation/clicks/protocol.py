"""Evaluation protocol (Xu et al. 2016 §4): the next click goes to the interior of the largest error
region, positive for a missed (false-negative) region, negative for a false-positive one."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from mobilekit.families.segmentation.clicks.encoding import Click
from mobilekit.families.segmentation.clicks.simulation import as_mask as _as_mask


def next_click(pred: np.ndarray, target: np.ndarray) -> Click | None:
    """The click a simulated user adds next (standard NoC protocol).

    Errors are split into false-negative (target & ~pred) and false-positive (pred & ~target)
    connected regions (4-connectivity). The largest region by area is chosen (ties: false negative
    first, then raster order). The click goes to the region pixel farthest from the region's
    boundary by Euclidean distance transform, where the image border also counts as boundary (the
    click lands in the visual centre of regions cut by the border, as a user would click; the
    RITM evaluation clicker pads its distance transform the same way); ties go to the pixel nearest the centroid of the
    tied pixels. Positive for a false-negative region. None when pred == target.
    """
    pred = _as_mask(pred, "pred")
    target = _as_mask(target, "target", pred.shape)
    best = None  # (area, is_fn, labels, label)
    for is_fn, err in ((True, target & ~pred), (False, pred & ~target)):
        if not err.any():
            continue
        labels, count = ndimage.label(err)
        areas = np.bincount(labels.ravel())[1:]
        k = int(np.argmax(areas))
        if best is None or areas[k] > best[0]:
            best = (int(areas[k]), is_fn, labels, k + 1)
    if best is None:
        return None
    _, is_fn, labels, k = best
    ys, xs = np.nonzero(labels == k)
    y0, x0 = ys.min(), xs.min()
    region = np.zeros((ys.max() - y0 + 3, xs.max() - x0 + 3), dtype=bool)  # bbox + 1 px of boundary
    region[ys - y0 + 1, xs - x0 + 1] = True
    dt = ndimage.distance_transform_edt(region)
    ty, tx = np.nonzero(dt == dt.max())
    i = int(np.argmin((ty - ty.mean()) ** 2 + (tx - tx.mean()) ** 2))
    return Click(int(ty[i] + y0 - 1), int(tx[i] + x0 - 1), bool(is_fn))

