"""Corrective clicks for training: the protocol's clicks placed on a perturbed ground-truth mask, so
the model learns to respond to clicks on its own kind of errors."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.clicks.encoding import Click
from mobilekit.families.segmentation.clicks.protocol import next_click
from mobilekit.families.segmentation.clicks.simulation import as_mask as _as_mask


def perturbed_prediction(target: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] = ()) -> np.ndarray:
    """A plausible wrong prediction of `target`: dilated or eroded, shifted, with a bite taken
    out or a blob added, and sometimes merged with a neighbouring object (the confusion that
    negative clicks on other objects fix): the kinds of error corrective clicks fix."""
    target = _as_mask(target, "target")
    size = max(2, int(0.06 * min(target.shape)))
    pred = target.copy()
    radius = int(rng.integers(1, size + 1))
    structure = np.ones((2 * radius + 1, 2 * radius + 1), bool)
    if rng.random() < 0.5:
        pred = ndimage.binary_dilation(pred, structure)
    else:
        pred = ndimage.binary_erosion(pred, structure)
    pred = ndimage.shift(pred, tuple(int(v) for v in rng.integers(-size, size + 1, size=2)), order=0, mode="constant", cval=False)
    yy, xx = np.mgrid[: target.shape[0], : target.shape[1]]
    cy, cx = rng.integers(0, target.shape[0]), rng.integers(0, target.shape[1])
    blob = (yy - cy) ** 2 + (xx - cx) ** 2 <= (2 * size) ** 2
    pred = pred & ~blob if rng.random() < 0.5 else pred | blob
    if len(others) and rng.random() < 0.5:
        pred = pred | _as_mask(others[int(rng.integers(len(others)))], "other", target.shape)
    return pred


def simulate_corrective_clicks(target: np.ndarray, rng: np.random.Generator, max_corrections: int = 3,
                               others: Sequence[np.ndarray] = ()) -> list[Click]:
    """The evaluation protocol's first click, then up to `max_corrections` protocol clicks on the
    errors of a perturbed prediction (each click fixes the error region it lands in), so training
    sees the click patterns NoC evaluation produces without running the model in the loop."""
    target = _as_mask(target, "target")
    first = next_click(np.zeros_like(target), target)
    if first is None:
        raise InputError("target mask is empty: cannot place clicks")
    clicks = [first]
    pred = perturbed_prediction(target, rng, others)
    for _ in range(int(rng.integers(1, max_corrections + 1))):
        click = next_click(pred, target)
        if click is None:
            break
        clicks.append(click)
        labels, _ = ndimage.label(pred != target)
        fixed = labels == labels[click.y, click.x]
        pred = np.where(fixed, target, pred)
    return clicks
