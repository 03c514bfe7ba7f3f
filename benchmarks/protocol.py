"""Benchmark the Jobber protocol over loopback: introduction latency and durable feedback rate.

Real Jobber servers (a provider and tenant servers in two processes, SQLite stores, Ed25519
signatures on every message), driven over HTTP on 127.0.0.1:

* introduction latency (p50, p99) through zero (the provider), one and two introducers, each
  sample a new connection to a fresh target, in sequential mode and in chain mode;
* durable feedback messages per second on one server (acknowledged only once written): signed
  ``Feedback`` messages received by an introducer from the connections' endpoints, batched as
  peers send them when they pile up; and, beside it, feedback values posted by the tenant's own
  sensors (``/v1/local/observe``, one request each, each also sent on to the introducer). The
  store is SQLite (NORMAL, the default), SQLite with ``synchronous=full``, and PostgreSQL
  (when ``JOBBER_TEST_PG_URL`` names one, as ``make pg`` writes it), side by side in one run.

``--quick`` takes fewer samples (under a minute); ``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from jobber.server.cluster import Cluster, Member
from jobber.server.keys import KeyPair
from jobber.server.wire import seal
from jobber.trust.messages import Feedback
from jobber.types import ConnectionId, InteractionId, Severity, TenantId


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _post(client: httpx.Client, member: Member, path: str, body: dict[str, Any]) -> Any:
    response = client.post(f"{member.url}{path}", json=body, timeout=30,
                           headers={"authorization": f"Bearer {member.client_token}"})
    response.raise_for_status()
    return response.json()


def _trust(client: httpx.Client, c: Cluster, requester: str, target: str) -> str:
    """Connect requester → target through the provider and let both see five clean ones."""
    r, t = c.members[requester], c.members[target]  # type: ignore[index]
    grant = _post(client, r, "/v1/local/connect", {"target": target, "path": [], "timeout": 30})
    conn = grant["connection"]
    assert conn, grant
    for who in (t, r):
        for i in range(5):
            _post(client, who, "/v1/local/observe",
                  {"connection": conn, "interaction": f"setup-{who.tenant}-{i}",
                   "severity": "POS"})
    return str(conn)


SETTLE = 2.0
"""Seconds to wait after the set-up, so that its trailing work does not land in the samples."""

PLANS = {  # label → (mode, requester, introducers)
    "0 introducers (provider), sequential": ("sequential", "r0", []),
    "1 introducer, sequential": ("sequential", "r1", ["i2"]),
    "2 introducers, sequential": ("sequential", "r2", ["i1", "i2"]),
    "1 introducer, chain": ("chain", "r1c", ["i2"]),
    "2 introducers, chain": ("chain", "r2c", ["i1", "i2"]),
}


def introductions(samples: int, folder: Path, processes: int) -> dict[str, Any]:
    """Each sample is a new connection to a target no requester of that plan has met yet; the
    tenants' servers run in ``processes`` processes (0: one each, as separate tenants' are)."""
    targets = [f"x{i}" for i in range(samples)]
    requesters = sorted({requester for _mode, requester, _path in PLANS.values()})
    names = [*requesters, "i1", "i2", *targets]
    policy = {"P_max": 10_000}  # r0 asks the provider for every sample
    results: dict[str, Any] = {}
    with Cluster(folder / "intro", names, processes=processes, policy=policy) as c, \
            httpx.Client() as client:
        _trust(client, c, "i1", "i2")
        for requester in ("r1", "r1c"):
            _trust(client, c, requester, "i2")
        for requester in ("r2", "r2c"):
            _trust(client, c, requester, "i1")
        for x in targets:
            _trust(client, c, x, "i2")
        time.sleep(SETTLE)  # let the set-up's notices and deliveries finish before timing
        for label, (mode, requester, path) in PLANS.items():
            times = []
            for target in targets:
                started = time.perf_counter()
                grant = _post(client, c.members[requester], "/v1/local/connect",  # type: ignore[index]
                              {"target": target, "path": path, "mode": mode, "timeout": 30})
                times.append(time.perf_counter() - started)
                assert grant["status"] is not None, grant
            results[label] = {"samples": len(times),
                              "p50_ms": 1000 * _quantile(times, 0.5),
                              "p99_ms": 1000 * _quantile(times, 0.99),
                              "mean_ms": 1000 * statistics.fmean(times)}
            print(f"  introduction {label:<38} p50 {results[label]['p50_ms']:6.2f} ms  "
                  f"p99 {results[label]['p99_ms']:6.2f} ms  ({len(times)} samples)", flush=True)
    return results


async def _feedback_rate(member: Member, conn: str, total: int, concurrency: int) -> float:
    headers = {"authorization": f"Bearer {member.client_token}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    acked = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acked
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            response = await client.post(
                f"{member.url}/v1/local/observe", headers=headers, timeout=30,
                json={"connection": conn, "interaction": f"b{i}", "severity": "POS"})
            if response.status_code == 200 and response.json()["accepted"]:
                acked += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    assert acked == total, f"only {acked} of {total} acknowledged"
    return total / elapsed


def _introduced(client: httpx.Client, c: Cluster, pairs: int) -> list[tuple[str, str, str]]:
    """``pairs`` connections e_k → f_k that the introducer ``i`` made: (connection, e, f)."""
    made = []
    for k in range(pairs):
        e, f = f"e{k}", f"f{k}"
        _trust(client, c, e, "i")  # i rates e (it may vouch for it) and e rates i
        _trust(client, c, f, "i")  # f rates i (it weighs i's vouch) and i rates f
        grant = _post(client, c.members[e], "/v1/local/connect",  # type: ignore[index]
                      {"target": f, "path": ["i"], "timeout": 30})
        assert grant["path"] == ["i"], grant
        made.append((str(grant["connection"]), e, f))
    return made


async def _messages_rate(c: Cluster, made: list[tuple[str, str, str]], total: int,
                         batch: int, concurrency: int) -> float:
    """Signed Feedback messages from the endpoints to their introducer, as peers send them:
    batched when they pile up. Each is verified, checked and written before its answer."""
    keys = {t: KeyPair.load(c.folder / f"{t}.key") for _cid, e, f in made for t in (e, f)}
    introducer = c.members[TenantId("i")]
    plan: list[bytes] = []
    for n in range(total):
        cid, e, f = made[n % len(made)]
        reporter, subject = (e, f) if n % 2 == 0 else (f, e)
        plan.append(seal(Feedback(TenantId(reporter), TenantId("i"), ConnectionId(cid),
                                  InteractionId(f"m{n}"), TenantId(reporter), TenantId(subject),
                                  Severity.POS, 1), keys[reporter], time.time()))
    batches = [plan[i:i + batch] for i in range(0, len(plan), batch)]
    accepted = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while batches:
            body = b"\n".join(batches.pop())
            response = await client.post(f"{introducer.url}/v1/messages/batch", content=body,
                                         timeout=60)
            response.raise_for_status()
            accepted += sum(r["status"] == 202 for r in response.json()["results"])

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    assert accepted == total, f"only {accepted} of {total} accepted"
    return total / elapsed


def feedback(total: int, folder: Path) -> dict[str, Any]:
    stores = {"sqlite": f"sqlite:///{folder / 'fb-normal.db'}",
              "sqlite-full": f"sqlite:///{folder / 'fb-full.db'}?synchronous=full"}
    pg = os.environ.get("JOBBER_TEST_PG_URL")
    schema = f"jb_bench_{uuid.uuid4().hex[:12]}"  # a fresh schema: no earlier run's state
    if pg:
        stores["postgresql"] = _fresh_schema(pg, schema)
    names = [f"f-{k}" for k in stores]
    store_urls = {f"f-{k}": url for k, url in stores.items()}
    results: dict[str, Any] = {}
    with Cluster(folder / "fb", ["peer", *names], processes=len(names) + 1,
                 store_urls=store_urls) as c, httpx.Client() as client:
        for kind in stores:
            name = f"f-{kind}"
            conn = _trust(client, c, "peer", name)
            rate = asyncio.run(_feedback_rate(c.members[name], conn, total, 8))  # type: ignore[index]
            results[kind] = {"local_feedback_per_s": rate}
            print(f"  sensor feedback (POST /v1/local/observe) on {kind:<12} {rate:8.0f}/s",
                  flush=True)
    for kind, url in stores.items():  # the protocol: an introducer receiving Feedback messages
        names = ["i", *(f"{x}{k}" for k in range(4) for x in "ef")]
        own = url.replace(".db", "-msgs.db")  # SQLite: a file of its own
        with Cluster(folder / f"msgs-{kind}", names, processes=2,
                     store_urls={"i": own}) as c, httpx.Client() as client:
            made = _introduced(client, c, 4)
            rate = asyncio.run(_messages_rate(c, made, 2 * total, 64, 4))
        results[kind]["feedback_per_s"] = rate
        print(f"  Feedback messages received by an introducer on {kind:<12} {rate:8.0f}/s "
              "(signed, batched, durable)", flush=True)
    if "postgresql" not in results:
        print("  (PostgreSQL skipped: set JOBBER_TEST_PG_URL, e.g. make pg)")
    else:
        _drop_schema(str(pg), schema)
    return results


def _admin_engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, isolation_level="AUTOCOMMIT")


def _fresh_schema(url: str, schema: str) -> str:
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    with_path = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False)


def _drop_schema(url: str, schema: str) -> None:
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    samples, processes, total = (10, 0, 600) if args.quick else (40, 0, 3000)
    with tempfile.TemporaryDirectory(prefix="jb-bench-") as tmp:
        folder = Path(tmp)
        print("introduction latency over loopback (signed, durable):")
        intro = introductions(samples, folder, processes)
        print("durable feedback, 8 concurrent clients, one server:")
        fb = feedback(total, folder)
    ratios = {"sqlite_over_sqlite_full": fb["sqlite"]["feedback_per_s"]
              / fb["sqlite-full"]["feedback_per_s"],
              "messages_over_local_feedback_sqlite": fb["sqlite"]["feedback_per_s"]
              / fb["sqlite"]["local_feedback_per_s"]}
    if "postgresql" in fb:
        ratios["sqlite_over_postgresql"] = (fb["sqlite"]["feedback_per_s"]
                                            / fb["postgresql"]["feedback_per_s"])
    two = intro["2 introducers, sequential"]
    two_chain = intro["2 introducers, chain"]  # the negotiator's mode (docs/decisions.md)
    ratios["two_introducers_sequential_over_chain_p50"] = two["p50_ms"] / two_chain["p50_ms"]
    ratios["two_introducers_over_provider_p50"] = (
        two_chain["p50_ms"] / intro["0 introducers (provider), sequential"]["p50_ms"])
    targets = {
        "two_introducer_p50_le_10ms": two_chain["p50_ms"] <= 10.0,
        "two_introducer_p99_le_30ms": two_chain["p99_ms"] <= 30.0,
        "sqlite_feedback_ge_1000_per_s": fb["sqlite"]["feedback_per_s"] >= 1000,
    }
    print("ratios: " + ", ".join(f"{k} = {v:.2f}" for k, v in ratios.items()))
    print("targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}"
                                  for k, v in targets.items()))
    if args.json:
        print(json.dumps({"introductions": intro, "feedback": fb, "ratios": ratios,
                          "targets": targets, "quick": args.quick,
                          "python": sys.version.split()[0]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
