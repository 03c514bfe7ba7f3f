"""k-best max-product paths, checked against brute force on random graphs."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from jobber.trust.paths import best_paths
from jobber.types import TenantId

NODES = [TenantId(n) for n in "abcdefgh"]


def _brute(graph: dict[TenantId, set[TenantId]], w: dict[tuple[TenantId, TenantId], float],
           s: TenantId, t: TenantId, k: int, h: int) -> list[tuple[float, int]]:
    found = []
    inner = [n for n in NODES if n not in (s, t)]
    for m in range(1, h + 1):
        for mid in itertools.permutations(inner, m):
            hops = (s, *mid, t)
            if all(hops[i + 1] in graph.get(hops[i], ()) for i in range(len(hops) - 1)):
                trust = 1.0
                for i in range(len(hops) - 1):
                    trust *= w[(hops[i], hops[i + 1])]
                found.append((trust, m))
    found.sort(key=lambda x: (-x[0], x[1]))
    return found[:k]


edges = st.lists(
    st.tuples(st.sampled_from(NODES), st.sampled_from(NODES),
              st.sampled_from([0.2, 0.5, 0.8, 0.9, 1.0])),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(edges, st.integers(1, 4), st.integers(1, 3))
def test_matches_brute_force(edge_list: list[tuple[TenantId, TenantId, float]], k: int,
                             h: int) -> None:
    graph: dict[TenantId, set[TenantId]] = {}
    w: dict[tuple[TenantId, TenantId], float] = {}
    for u, v, x in edge_list:
        if u == v:
            continue
        graph.setdefault(u, set()).add(v)
        graph.setdefault(v, set()).add(u)
        w[(u, v)] = w[(v, u)] = x
    got = best_paths(graph, NODES[0], NODES[1], k=k, max_introducers=h,
                     weight=lambda u, v: w[(u, v)])
    want = _brute(graph, w, NODES[0], NODES[1], k, h)
    assert [(round(p.trust, 9), len(p)) for p in got] == [(round(t, 9), m) for t, m in want]
    for p in got:
        assert NODES[0] not in p.introducers and NODES[1] not in p.introducers
        assert len(set(p.introducers)) == len(p.introducers) <= h


def test_unweighted_prefers_fewer_introducers() -> None:
    g = {TenantId("s"): {TenantId("a"), TenantId("b")}, TenantId("a"): {TenantId("s"),
         TenantId("t")}, TenantId("b"): {TenantId("s"), TenantId("c")},
         TenantId("c"): {TenantId("b"), TenantId("t")}, TenantId("t"): {TenantId("a"),
                                                                        TenantId("c")}}
    paths = best_paths(g, TenantId("s"), TenantId("t"))
    assert [p.introducers for p in paths] == [("a",), ("b", "c")]


def test_no_path_and_direct_neighbours() -> None:
    g = {TenantId("s"): {TenantId("t")}, TenantId("t"): {TenantId("s")}}
    assert best_paths(g, TenantId("s"), TenantId("t")) == []
    assert best_paths({}, TenantId("s"), TenantId("t")) == []
