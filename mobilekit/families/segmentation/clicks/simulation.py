"""Training-time click simulation, after Xu et al., "Deep Interactive Object Selection"
(CVPR 2016, arXiv 1603.04042), §3.2:

``n_pos ~ U[1, N_pos]`` positive clicks on the object, each at least
  ``d_margin`` from the object boundary and ``d_step`` from the other positives. Negative clicks:
  strategy 1, ``n ~ U[0, N_neg1]`` background pixels within ``d`` of the object; strategy 2,
  ``n ~ U[0, N_neg2]`` clicks on *each* other object of the image; strategy 3, ``N_neg3`` clicks
  covering the outside of the object boundary as evenly as possible (first one random in the band,
  then sequentially ``argmax_p min dist(p, previous negatives ∪ object)``). The paper uses
  N_pos=5, N_neg1=10, N_neg2=5, N_neg3=10, d_margin=5, d_step=10, d=40.
  This kit also offers "background anywhere" clicks and runs all enabled strategies
  together in one sample (each with its own random count) instead of one per sample; the
  boundary-covering strategy is ``max_negative_boundary`` (0 = off by default).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from scipy import ndimage

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.clicks.encoding import Click


@dataclass(frozen=True)
class ClickSampling:
    """Xu et al. 2016 sampling parameters; distances in pixels at `reference_size` (min(H, W))."""

    max_positive: int = 5  # N_pos: positives drawn uniformly in [1, max_positive]
    max_negative_band: int = 3  # strategy 1: U[0, n] background pixels within `band` px of the object
    max_negative_anywhere: int = 2  # U[0, n] background pixels anywhere (at >= margin from the object)
    max_negative_objects: int = 2  # strategy 2: U[0, n] clicks on *each* other object of the image
    margin: float = 5.0  # d_margin: positives this far inside the boundary, negatives this far outside
    spacing: float = 10.0  # d_step: min distance between clicks of the same polarity
    band: float = 40.0  # d: width of the background band for strategies 1 and 3
    reference_size: int = 320  # image size (min(H, W)) the px values above refer to
    max_negative_boundary: int = 0  # strategy 3 of the paper (boundary covering, fixed count); 0 = off

    def __post_init__(self) -> None:
        if self.max_positive < 1:
            raise InputError(f"ClickSampling.max_positive must be >= 1, got {self.max_positive}")
        for name in ("max_negative_band", "max_negative_anywhere", "max_negative_objects", "max_negative_boundary"):
            if getattr(self, name) < 0:
                raise InputError(f"ClickSampling.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("margin", "spacing", "band"):
            if getattr(self, name) < 0:
                raise InputError(f"ClickSampling.{name} must be >= 0, got {getattr(self, name)}")
        if self.reference_size <= 0:
            raise InputError(f"ClickSampling.reference_size must be > 0, got {self.reference_size}")

    def scaled(self, height: int, width: int) -> "ClickSampling":
        """Distances rescaled linearly to an image of this size (by min(H, W)); idempotent per size."""
        if height <= 0 or width <= 0:
            raise InputError(f"image size must be positive, got {height}x{width}")
        size = min(height, width)
        f = size / self.reference_size
        return replace(self, margin=self.margin * f, spacing=self.spacing * f, band=self.band * f, reference_size=size)



def as_mask(mask: np.ndarray, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InputError(f"{name} must be a 2-D (H, W) mask, got shape {mask.shape}")
    if shape is not None and mask.shape != shape:
        raise InputError(f"{name} has shape {mask.shape}, expected {shape} (same as target)")
    return mask.astype(bool, copy=False)


_REJECTION_TRIES = 32


def _far_from(cands: np.ndarray, points: list[tuple[int, int]], spacing: float) -> np.ndarray:
    """Candidates (N, 2) at distance >= spacing from every point."""
    if spacing <= 0 or not points or len(cands) == 0:
        return cands
    keep = np.ones(len(cands), dtype=bool)
    s2 = spacing * spacing
    for py, px in points:
        keep &= (cands[:, 0] - py) ** 2 + (cands[:, 1] - px) ** 2 >= s2
    return cands[keep]


def _sample_spaced(
    cands: np.ndarray, n: int, rng: np.random.Generator, spacing: float, taken: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Draw up to n candidates uniformly, each >= spacing from `taken` and from each other.
    Appends the picks to `taken` and returns them.

    Uniform over the valid candidates: rejection sampling first (cheap when few are excluded),
    exact filtering of the candidate list when rejections pile up."""
    picks: list[tuple[int, int]] = []
    s2 = spacing * spacing
    filtered = False
    while len(picks) < n and len(cands):
        for _ in range(1 if filtered else _REJECTION_TRIES):
            y, x = (int(v) for v in cands[rng.integers(len(cands))])
            if filtered or all((y - py) ** 2 + (x - px) ** 2 >= s2 for py, px in taken):
                break
        else:  # too many rejections: keep only the valid candidates and draw among them
            cands, filtered = _far_from(cands, taken, spacing), True
            continue
        picks.append((y, x))
        taken.append((y, x))
        if filtered:
            cands = _far_from(cands, [(y, x)], spacing)
    return picks


def _interior(mask: np.ndarray, margin: float) -> np.ndarray:
    """Pixels of `mask` at >= margin from its boundary (image border is not a boundary); falls back
    to the deepest pixels when the object is too thin. Works on the bounding box for speed."""
    ys, xs = np.nonzero(mask)
    y0, y1 = max(ys.min() - 1, 0), min(ys.max() + 2, mask.shape[0])
    x0, x1 = max(xs.min() - 1, 0), min(xs.max() + 2, mask.shape[1])
    dt = ndimage.distance_transform_edt(mask[y0:y1, x0:x1])
    inside = dt >= min(margin, float(dt.max()))
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = inside
    return out


def simulate_training_clicks(
    target: np.ndarray, others: Sequence[np.ndarray], rng: np.random.Generator, sampling: ClickSampling
) -> list[Click]:
    """Simulated user clicks for one training pair (positives first, then negatives).

    target: bool (H, W) mask of the object to select; others: masks of the other objects of the
    image. `sampling` distances are rescaled to this image with `sampling.scaled(H, W)`.
    Positives: U[1, max_positive], >= margin inside the boundary (the deepest pixels when the object
    is thinner than that, so there is always at least one), >= spacing apart. Negatives: never on
    the target, >= margin from it, >= spacing apart; strategies with no valid pixel are skipped.
    Deterministic for a given rng state.
    """
    target = as_mask(target, "target")
    if not target.any():
        raise InputError("cannot simulate clicks for an empty target mask")
    others = [as_mask(o, f"others[{i}]", target.shape) for i, o in enumerate(others)]
    s = sampling.scaled(*target.shape)

    # positives
    taken_pos: list[tuple[int, int]] = []
    n_pos = int(rng.integers(1, s.max_positive + 1))
    pos_cands = np.argwhere(_interior(target, s.margin))
    _sample_spaced(pos_cands, n_pos, rng, s.spacing, taken_pos)

    # negatives (the distance map to the target is computed only when some strategy needs it)
    taken_neg: list[tuple[int, int]] = []
    cache: dict[str, np.ndarray] = {}

    def allowed() -> np.ndarray:  # >= margin from the target, never on it
        if "allowed" not in cache:
            cache["dist"] = ndimage.distance_transform_edt(~target)  # distance to the nearest target pixel
            cache["allowed"] = cache["dist"] >= max(s.margin, 1.0)
        return cache["allowed"]

    def band() -> np.ndarray:
        if "band" not in cache:
            cache["band"] = allowed() & (cache["dist"] <= s.band)
        return cache["band"]

    # strategy 1: background band around the object
    n = int(rng.integers(0, s.max_negative_band + 1))
    if n:
        _sample_spaced(np.argwhere(band()), n, rng, s.spacing, taken_neg)
    # background anywhere
    n = int(rng.integers(0, s.max_negative_anywhere + 1))
    if n:
        _sample_spaced(np.argwhere(allowed()), n, rng, s.spacing, taken_neg)
    # strategy 2: clicks on each other object
    for other in others:
        n = int(rng.integers(0, s.max_negative_objects + 1))
        if n and other.any():
            region = other & allowed()
            if region.any():
                _sample_spaced(np.argwhere(_interior(region, s.margin)), n, rng, s.spacing, taken_neg)
    # strategy 3: cover the outside of the boundary (first random in the band, then farthest-point)
    if s.max_negative_boundary:
        cands = _far_from(np.argwhere(band()), taken_neg, s.spacing)
        if len(cands):
            _sample_spaced(cands, 1, rng, s.spacing, taken_neg)
            f = cache["dist"][cands[:, 0], cands[:, 1]]  # f(p | S0 ∪ G): distance to the object G ...
            for py, px in taken_neg:  # ... and to the negatives so far (S0)
                f = np.minimum(f, np.hypot(cands[:, 0] - py, cands[:, 1] - px))
            for _ in range(s.max_negative_boundary - 1):
                keep = f >= max(s.spacing, 1e-9)
                cands, f = cands[keep], f[keep]
                if len(cands) == 0:
                    break
                i = int(np.argmax(f))
                py, px = int(cands[i, 0]), int(cands[i, 1])
                taken_neg.append((py, px))
                f = np.minimum(f, np.hypot(cands[:, 0] - py, cands[:, 1] - px))

    return [Click(y, x, True) for y, x in taken_pos] + [Click(y, x, False) for y, x in taken_neg]

