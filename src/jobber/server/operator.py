"""The operator's API on a Jobber server, behind the admin token, and its Prometheus metrics.

What a tenant's operator can ask its own server: its private reputations (as a peer and as an
introducer), its connections, the grants it holds with their signed tickets, recent feedback, every
recent decision with its explanation (path, evidence, rule), and ``/metrics``. Everything here
only reads the runtime; nothing is sent to peers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from jobber.server.codec import encode_ticket
from jobber.server.runtime import Runtime


def operator_routes(app: FastAPI, runtime: Callable[[Request], Runtime],
                    admin: list[Any]) -> None:
    """Add the operator's routes to ``app``, each behind the ``admin`` dependencies."""

    @app.get("/v1/admin/reputations", dependencies=admin, tags=["operator"])
    async def reputations(request: Request) -> list[dict[str, Any]]:
        """This tenant's private view of every tenant it has dealt with: as a peer (``score``)
        and as an introducer (``as_introducer``: lowered by what its introductions did)."""
        rt = runtime(request)
        now, led = rt.epoch(), rt.ledger
        known = sorted(set(led.views) | set(led.referrals))
        return [{"tenant": t, "score": led.score(t, now), "evidence": led.evidence(t, now),
                 "as_introducer": led.referral_score(t, now),
                 "uncertainty": led.views[t].uncertainty(now, led.policy) if t in led.views
                 else 1.0,
                 "blocked_until": rt.wall(led.blocks[t].until) if led.is_blocked(t, now)
                 else None} for t in known]

    @app.get("/v1/admin/connections", dependencies=admin, tags=["operator"])
    async def connections(request: Request) -> list[dict[str, Any]]:
        rt = runtime(request)
        return [{"connection": c.id, "requester": c.requester, "target": c.target,
                 "path": list(c.path), "status": c.status.name,
                 "decision": c.status.decision.value, "created": rt.wall(c.created),
                 "expires": rt.wall(c.expires), "clean": c.clean, "reported": len(c.reported),
                 "reason": c.reason}
                for c in rt.ledger.connections.values()]

    @app.get("/v1/admin/grants", dependencies=admin, tags=["operator"])
    async def grants(request: Request) -> list[dict[str, Any]]:
        """Unexpired connections with their tickets, signed by the target (``signer``)."""
        rt = runtime(request)
        now = rt.epoch()
        out = []
        for c in rt.ledger.connections.values():
            if now >= c.expires:
                continue
            held = rt.tickets.get(c.id)
            out.append({"connection": c.id, "peer": c.peer(rt.me),
                        "decision": c.status.decision.value, "expires": rt.wall(c.expires),
                        "reason": c.reason, "signer": c.target,
                        "ticket": encode_ticket(held[0]) if held else None,
                        "signature": held[1] if held else None})
        return out

    @app.get("/v1/admin/feedback", dependencies=admin, tags=["operator"])
    async def feedback(request: Request) -> list[dict[str, Any]]:
        return list(runtime(request).feedback)

    @app.get("/v1/admin/decisions", dependencies=admin, tags=["operator"])
    async def decisions(request: Request) -> list[dict[str, Any]]:
        """Every recent decision with its explanation (path, evidence, rule)."""
        return [d.as_json() for d in runtime(request).decisions]

    @app.get("/metrics", dependencies=admin, tags=["operator"])
    async def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse(_metrics(runtime(request)), media_type=CONTENT_TYPE_LATEST)


class _Collector:
    """Prometheus metrics read from the runtime at scrape time."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        rt = self.rt
        events = CounterMetricFamily("jobber_events", "Events handled, by kind", labels=["kind"])
        for name, value in sorted(rt.counters.items()):
            events.add_metric([name], value)
        yield events
        conns = GaugeMetricFamily("jobber_connections", "Connections held, by status",
                                  labels=["status"])
        by_status: dict[str, int] = {}
        for conn in rt.ledger.connections.values():
            by_status[conn.status.name] = by_status.get(conn.status.name, 0) + 1
        for status, count in sorted(by_status.items()):
            conns.add_metric([status], count)
        yield conns
        yield GaugeMetricFamily("jobber_reputations", "Tenants this server has a view of",
                                value=len(rt.ledger.views))
        yield GaugeMetricFamily("jobber_introductions_made", "Introductions made as introducer",
                                value=len(rt.ledger.introductions))
        yield GaugeMetricFamily("jobber_replayed_events", "Events replayed at start",
                                value=rt.replayed)


def _metrics(rt: Runtime) -> bytes:
    registry = CollectorRegistry()
    registry.register(_Collector(rt))
    return generate_latest(registry)
