"""The k best introduction paths between two tenants over the graph of live connections.

A path's trust is the product of its edge weights (``weight(u, v)`` in (0, 1], the trust ``u``
puts in ``v``; 1 for every edge when only the directory of who-is-connected is known), so the
best paths are the shortest under edge length ``−log weight``. A path has between 1 and
``max_introducers`` intermediaries; source and target never appear inside it and no tenant
appears twice. Ties break towards fewer introducers, then by name, so results are deterministic.

Search: a breadth-first pass from the target gives every tenant's hop distance to it (at most
``max_introducers`` deep); a depth-first search from the source then only enters a tenant that
can still reach the target within the hops left, and stops extending a path that can no longer
beat the k-th best found. Edge weights are at most 1, so a prefix bounds every extension.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from jobber.types import TenantId

Graph = Mapping[TenantId, Collection[TenantId]]
Weight = Callable[[TenantId, TenantId], float]


@dataclass(frozen=True, slots=True, order=True)
class Path:
    """An introduction path: the introducers from the source's side, and its trust."""

    introducers: tuple[TenantId, ...]
    trust: float

    def __len__(self) -> int:
        return len(self.introducers)


def _unit(_u: TenantId, _v: TenantId) -> float:
    return 1.0


def hop_distances(graph: Graph, target: TenantId, depth: int) -> dict[TenantId, int]:
    """Hop distance to ``target`` of every tenant at most ``depth`` hops away."""
    dist = {target: 0}
    frontier = [target]
    for d in range(1, depth + 1):
        nxt = []
        for u in frontier:
            for v in graph.get(u, ()):
                if v not in dist:
                    dist[v] = d
                    nxt.append(v)
        frontier = nxt
    return dist


def best_paths(
    graph: Graph,
    source: TenantId,
    target: TenantId,
    *,
    k: int = 3,
    max_introducers: int = 3,
    weight: Weight | None = None,
) -> list[Path]:
    """The ``k`` best paths from ``source`` to ``target``, best first."""
    if source == target or k < 1 or max_introducers < 1:
        return []
    weigh = weight or _unit
    dist = hop_distances(graph, target, max_introducers)
    if source not in graph:
        return []
    # A min-heap of the k best so far, keyed so that the worst is on top.
    best: list[tuple[float, int, tuple[TenantId, ...]]] = []

    def worse_than_kth(trust: float, hops: int) -> bool:
        if len(best) < k:
            return False
        kth_trust, kth_neg_hops, _ = best[0]
        return trust < kth_trust or (trust == kth_trust and -hops < kth_neg_hops)

    def offer(trust: float, path: tuple[TenantId, ...]) -> None:
        item = (trust, -len(path), path)
        if len(best) < k:
            heapq.heappush(best, item)
        elif (trust, -len(path)) > best[0][:2] or (
            (trust, -len(path)) == best[0][:2] and path < best[0][2]
        ):
            heapq.heapreplace(best, item)

    def extend(u: TenantId, path: tuple[TenantId, ...], trust: float) -> None:
        hops_left = max_introducers - len(path)
        for v in sorted(graph.get(u, ())):
            if v == target:
                if path:
                    offer(trust * weigh(u, v), path)
                continue
            if hops_left == 0 or v == source or v in path or dist.get(v, hops_left + 1) > hops_left:
                continue
            t = trust * weigh(u, v)
            if worse_than_kth(t, len(path) + 1):
                continue
            extend(v, (*path, v), t)

    extend(source, (), 1.0)
    ranked = sorted(best, key=lambda item: (-item[0], -item[1], item[2]))
    return [Path(path, trust) for trust, _neg, path in ranked]
