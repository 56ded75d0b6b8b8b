"""Graph search over the matched points: the first failing point of a chain or a DAG, in few comparisons."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from mobilekit.parity.localize.matching import Point
    from mobilekit.parity.localize.probe import ReferenceProbe


def bisect_first_failing(count: int, fails: Callable[[int], bool]) -> int:
    """Index of the first failing point of `count` points where point count-1 fails and failures
    persist once they start: binary search, ceil(log2(count)) calls of `fails`."""
    lo, hi = -1, count - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid
    return hi


def first_divergent_point(parents: list[list[int]], fails: Callable[[int], bool]) -> int:
    """A failing point whose parents all pass, in a DAG of points in topological order (`parents[i]`
    holds indices < i) whose last point fails, assuming a failure reaches every descendant.

    Bisect the longest chain of ancestors ending at the failing target; at the first failing point
    of the chain, check its other parents: where one fails (the divergence came in through a side
    branch) continue from it, else that point is where the divergence starts. A plain chain costs
    ceil(log2(n)) calls of `fails`; each merge crossed adds a bisection of a shorter chain."""
    depth, via = [], []
    for i, ps in enumerate(parents):
        best = max(ps, key=lambda p: (depth[p], p)) if ps else None
        depth.append(depth[best] + 1 if best is not None else 0)
        via.append(best)
    target = len(parents) - 1
    while True:
        chain = [target]
        while via[chain[-1]] is not None:
            chain.append(via[chain[-1]])
        chain.reverse()
        k = bisect_first_failing(len(chain), lambda m: fails(chain[m]))
        first = chain[k]
        side = [p for p in parents[first] if k == 0 or p != chain[k - 1]]
        target = next((p for p in side if fails(p)), None)
        if target is None:
            return first


def point_parents(probe: ReferenceProbe, points: list[Point]) -> list[list[int]]:
    """For each point, the indices of its nearest ancestors among the points (through unmatched
    layers of the Keras graph). The last point (the failing output) without a layer of its own
    gets the points no other point depends on."""
    index = {p.layer: i for i, p in enumerate(points) if p.layer is not None}
    memo: dict[str, set[int]] = {}

    def nearest(layer: str) -> set[int]:
        if layer not in memo:
            memo[layer] = set()
            found = set()
            for parent in probe.by_name[layer].parents if layer in probe.by_name else ():
                found |= {index[parent]} if parent in index else nearest(parent)
            memo[layer] = found
        return memo[layer]

    parents = [sorted(j for j in nearest(p.layer) if j < i) if p.layer is not None else [] for i, p in enumerate(points)]
    if points and points[-1].layer is None:
        used = {j for ps in parents for j in ps}
        parents[-1] = [j for j in range(len(points) - 1) if j not in used]
    return parents
