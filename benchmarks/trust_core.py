"""Benchmark the trust core: feedback cascades per second, k-best path search, memory per pair.

At 100, 1,000 and 10,000 tenants with about 10 live connections each (half made through the
provider, half introduced through a tenant), on one core:

* feedback events handled per second, each a whole cascade (the reporter's ledger, its
  introducer, upstream propagation, recall and notices), and ledger ``handle`` calls per second;
* k-best introduction path search latency (p50, p99) over the directory of live connections,
  against an unpruned depth-first search of the same paths in the same run (the ratio);
* memory per connected tenant pair (tracemalloc over the build).

Rates and latencies are CPU time of the benchmark's own process (one core), not wall time.

``--quick`` runs fewer events (under a minute); ``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from typing import Any

from jobber.trust.messages import Connect, Introduced, Observe
from jobber.trust.network import Network
from jobber.trust.paths import best_paths
from jobber.types import ConnectionId, InteractionId, Severity, TenantId

# Mostly clean interactions, some LOW noise and a few MED reports (which demote and recall), so
# that connections stay live through the run and every path of the cascade is exercised.
# CPU time of this process: the targets are "on one core of this machine", and the machine is
# shared, so wall time would measure the neighbours too.
CLOCK = time.process_time

SEVERITIES = [Severity.POS] * 945 + [Severity.LOW] * 50 + [Severity.MED] * 5


def build(n: int, rng: random.Random) -> tuple[Network, list[tuple[TenantId, str]]]:
    """A network of ``n`` tenants, ~10 connections each; returns (network, endpoint slots)."""
    net = Network()
    tenants = [TenantId(f"t{i}") for i in range(n)]
    for t in tenants:
        net.add(t)
    serial = 0

    def clean(conn: str, requester: TenantId, target: TenantId) -> None:
        # Five clean interactions promote; three let the requester's side vouch in turn.
        nonlocal serial
        for who, times in ((target, 5), (requester, 3)):
            for _ in range(times):
                serial += 1
                event = Observe(ConnectionId(conn), InteractionId(f"b{serial}"), Severity.POS)
                net.submit(who, event, 0.0)

    # Half the degree from the provider: a ring plus random chords, each pair then trusted.
    for i, t in enumerate(tenants):
        for peer in (tenants[(i + 1) % n], rng.choice(tenants)):
            if peer == t or net.ledgers[t].connection_with(peer, 0.0) is not None:
                continue
            effects = net.submit(t, Connect(peer), 0.0)  # the provider, no path search needed
            intro = next(e for who, e in effects if who == t and isinstance(e, Introduced))
            if intro.status is not None:
                clean(intro.connection, t, peer)
    # The other half through tenant introducers (friends of friends).
    for t in tenants:
        for _ in range(3):
            friends = sorted(net.directory.get(t, ()))
            if not friends:
                break
            via = rng.choice(friends)
            options = sorted(net.directory.get(via, set()) - {t} - net.directory.get(t, set()))
            if not options:
                continue
            target = rng.choice(options)
            intro = net.introduce(t, target, 0.0).introduced
            if intro.status is not None:
                clean(intro.connection, t, target)
    slots = [(t, cid) for t in tenants for cid in net.ledgers[t].peers.values()]
    return net, slots


def feedback_rate(net: Network, slots: list[tuple[TenantId, str]], events: int,
                  rng: random.Random) -> dict[str, float]:
    plan = [(rng.choice(slots), rng.choice(SEVERITIES)) for _ in range(events)]
    handled_before = net.messages
    start = CLOCK()
    for i, ((reporter, cid), severity) in enumerate(plan):
        net.submit(reporter, Observe(ConnectionId(cid), InteractionId(f"e{i}"), severity), 1.0)
    elapsed = CLOCK() - start
    handled = events + net.messages - handled_before
    return {"feedback_per_s": events / elapsed, "handle_calls_per_s": handled / elapsed,
            "messages_per_feedback": (handled - events) / events}


def unpruned(graph: dict[TenantId, set[TenantId]], s: TenantId, t: TenantId, k: int,
             h: int) -> list[tuple[TenantId, ...]]:
    """Every simple path of ≤ h introducers by plain DFS, then the k shortest."""
    found: list[tuple[TenantId, ...]] = []

    def dfs(u: TenantId, path: tuple[TenantId, ...]) -> None:
        for v in graph.get(u, ()):
            if v == t and path:
                found.append(path)
            elif v != t and v != s and v not in path and len(path) < h:
                dfs(v, (*path, v))

    dfs(s, ())
    return sorted(found, key=len)[:k]


def path_latency(net: Network, queries: int, rng: random.Random,
                 compare: int) -> dict[str, float]:
    tenants = [t for t in net.tenants()]
    graph = net.directory
    samples = []
    for _ in range(queries):
        s, t = rng.sample(tenants, 2)
        ledger = net.ledgers[s]

        def weight(u: TenantId, v: TenantId, s: TenantId = s, led: Any = ledger) -> float:
            return float(led.score(v, 1.0)) if u == s else 1.0

        start = CLOCK()
        best_paths(graph, s, t, k=3, max_introducers=3, weight=weight)
        samples.append(CLOCK() - start)
    samples.sort()
    pruned_total, plain_total = 0.0, 0.0
    for _ in range(compare):
        s, t = rng.sample(tenants, 2)
        start = CLOCK()
        best_paths(graph, s, t, k=3, max_introducers=3)
        pruned_total += CLOCK() - start
        start = CLOCK()
        unpruned(graph, s, t, 3, 3)
        plain_total += CLOCK() - start
    return {
        "path_p50_ms": 1000 * samples[len(samples) // 2],
        "path_p99_ms": 1000 * samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "path_mean_ms": 1000 * statistics.fmean(samples),
        "unpruned_over_pruned": plain_total / pruned_total if pruned_total else float("nan"),
    }


def run(sizes: list[int], events: int, queries: int, compare: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for n in sizes:
        rng = random.Random(n)
        # The build allocates millions of long-lived objects: keep the cyclic collector from
        # rescanning them (it measures the benchmark's churn, not the core), then freeze them.
        gc.disable()
        tracemalloc.start()
        t0 = time.perf_counter()
        net, slots = build(n, rng)
        build_s = time.perf_counter() - t0
        gc.enable()
        gc.collect()
        mem, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        gc.freeze()
        pairs = len(slots) // 2
        row: dict[str, Any] = {
            "tenants": n,
            "connections": pairs,
            "connections_per_tenant": 2 * pairs / n,
            "build_s": build_s,
            "bytes_per_pair": mem / max(pairs, 1),
        }
        row.update(feedback_rate(net, slots, events, rng))
        row.update(path_latency(net, queries, rng, compare if n <= 1000 else compare // 4))
        results[str(n)] = row
        del net, slots
        gc.unfreeze()
        gc.collect()
        print(f"{n:>6} tenants  {pairs:>6} pairs ({row['connections_per_tenant']:.1f}/tenant)  "
              f"feedback {row['feedback_per_s']:>9,.0f}/s ({row['handle_calls_per_s']:,.0f} "
              f"handle/s, {row['messages_per_feedback']:.2f} msg each)  "
              f"path p50 {row['path_p50_ms']:.3f} ms p99 {row['path_p99_ms']:.3f} ms  "
              f"unpruned/pruned ×{row['unpruned_over_pruned']:.1f}  "
              f"{row['bytes_per_pair']:,.0f} B/pair  (build {build_s:.1f} s)", flush=True)
    small, large = results[str(sizes[0])], results[str(sizes[-1])]
    results["ratios"] = {
        f"feedback_rate_{sizes[-1]}_over_{sizes[0]}": large["feedback_per_s"]
        / small["feedback_per_s"],
        f"path_p99_{sizes[-1]}_over_{sizes[0]}": large["path_p99_ms"] / small["path_p99_ms"],
    }
    results["targets"] = {
        "feedback_per_s_ge_50000": large["feedback_per_s"] >= 50_000,
        "path_p99_le_5ms_at_largest": large["path_p99_ms"] <= 5.0,
    }
    print("ratios: " + ", ".join(f"{k} = {v:.2f}" for k, v in results["ratios"].items()))
    print("targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}"
                                  for k, v in results["targets"].items()))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events; under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    sizes = [100, 1000, 10000]
    events, queries, compare = (20_000, 500, 40) if args.quick else (200_000, 5_000, 200)
    results = run(sizes, events, queries, compare)
    results["quick"] = args.quick
    results["python"] = sys.version.split()[0]
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
