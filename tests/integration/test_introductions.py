"""Introductions, feedback cascades and pushes across real Jobber servers on loopback.

One cluster (a provider and five tenants in three processes) is built up step by step:

    t5 ── t1 ── t2        t4 ── t3 ── t1
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from jobber.client.negotiator import Grant, Negotiator
from jobber.server.cluster import Cluster
from jobber.server.codec import decode_ticket
from jobber.server.wire import public_key_from_b64, verify_ticket
from jobber.types import Decision, Status, TenantId

from .conftest import admin, clean, connection, negotiator, observe, view

pytestmark = pytest.mark.anyio
T = TenantId


@pytest.fixture(scope="module")
def cluster(cluster_factory: Any) -> Cluster:
    c: Cluster = cluster_factory(["t1", "t2", "t3", "t4", "t5"])
    return c




async def trusted(neg: Negotiator, cluster: Cluster, requester: str, target: str) -> Grant:
    grant = await neg.grant(T(requester), T(target))
    assert grant.connection is not None, grant
    clean(cluster.members[T(target)], grant.connection, 5)
    clean(cluster.members[T(requester)], grant.connection, 3)
    status = connection(cluster.members[T(target)], grant.connection)["status"]
    assert status == "TRUSTED", status
    return grant


async def test_zero_one_and_two_introducers(cluster: Cluster) -> None:
    neg = negotiator(cluster)
    try:
        # Zero: the provider's probationary introduction.
        grant = await neg.grant(T("t1"), T("t2"))
        assert grant.decision is Decision.INSPECT and grant.path == ("provider",)
        clean(cluster.members[T("t2")], grant.connection or "", 5)
        clean(cluster.members[T("t1")], grant.connection or "", 3)
        await trusted(neg, cluster, "t3", "t1")
        await trusted(neg, cluster, "t4", "t3")
        # Two: t4 → (t3, t1) → t2.
        two = await neg.grant(T("t4"), T("t2"))
        held = connection(cluster.members[T("t2")], two.connection or "")
        assert held["path"] == ["t3", "t1"] and two.decision is Decision.INSPECT
        assert "via t3 → t1" in held["reason"]
        # One: t3 → (t1) → t2.
        one = await neg.grant(T("t3"), T("t2"))
        held = connection(cluster.members[T("t2")], one.connection or "")
        assert held["path"] == ["t1"] and held["status"] == "PROBATION"
        # The provider's directory knows who is connected, never how much they trust.
        edges = admin(cluster.provider, "/v1/admin/directory")["edges"]
        assert ["t2", "t3"] in edges and ["t2", "t4"] in edges
    finally:
        await neg.aclose()


async def test_feedback_cascade_with_accountability_and_recall(cluster: Cluster) -> None:
    neg = negotiator(cluster)
    try:
        await trusted(neg, cluster, "t5", "t1")
        other = await neg.grant(T("t3"), T("t5"))  # t1 introduces t3 to t5 as well
        assert connection(cluster.members[T("t5")], other.connection or "")["path"] == ["t1"]
        bad = await neg.grant(T("t3"), T("t2"))  # the t3 → (t1) → t2 connection
        t1_before = view(cluster.members[T("t2")], "t1")
        t1_view_of_t3 = view(cluster.members[T("t1")], "t3")
        assert t1_before is not None and t1_view_of_t3 is not None
        # HIGH: t1's firm, good view of t3 would take a lone MED for slander (no recall).
        assert observe(cluster.members[T("t2")], bad.connection or "", "attack-1",
                       "HIGH")["accepted"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            recalled = connection(cluster.members[T("t5")], other.connection or "")
            if recalled["status"] == "DEMOTED":
                break
            await asyncio.sleep(0.05)
        assert recalled["status"] == "DEMOTED" and "recalled by t1" in recalled["reason"]
        assert connection(cluster.members[T("t2")], bad.connection or "")["status"] in (
            "DEMOTED", "REVOKED")
        # Accountability: t2 charged the introducer t1; t1 heard about t3.
        t1_after = view(cluster.members[T("t2")], "t1")
        assert t1_after is not None
        assert t1_after["as_introducer"] < t1_before["as_introducer"]
        assert t1_after["score"] == pytest.approx(t1_before["score"])  # its own links stand
        t3_after = view(cluster.members[T("t1")], "t3")
        assert t3_after is not None and t3_after["score"] < t1_view_of_t3["score"]
        feedback = admin(cluster.members[T("t1")], "/v1/admin/feedback")
        assert any(f["interaction"] == "attack-1" and f["reporter"] == "t2" for f in feedback)
    finally:
        await neg.aclose()


async def test_revocation_reaches_the_negotiators_subscribers(cluster: Cluster) -> None:
    neg = negotiator(cluster)
    pushed: list[Grant] = []
    neg.subscribe(pushed.append)
    await neg.watch()
    try:
        grant = await neg.grant(T("t4"), T("t2"))
        assert grant.decision is not Decision.DENY
        await asyncio.sleep(0.3)  # the event streams are open
        started = time.monotonic()
        assert observe(cluster.members[T("t2")], grant.connection or "", "attack-2",
                       "HIGH")["accepted"]
        while time.monotonic() - started < 5 and not any(
                g.decision is Decision.DENY for g in pushed):
            await asyncio.sleep(0.01)
        denied = [g for g in pushed if g.decision is Decision.DENY]
        assert denied and denied[0].connection == grant.connection
        assert (neg.cached(T("t2"), T("t4")) or grant).decision is Decision.DENY
        assert "revoked" in denied[0].reason
    finally:
        await neg.aclose()


def test_a_third_party_verifies_a_granted_ticket(cluster: Cluster) -> None:
    record = httpx.get(f"{cluster.provider.url}/v1/registry/t2", timeout=5).json()
    public = public_key_from_b64(record["public_key"])
    grants = [g for g in admin(cluster.members[T("t1")], "/v1/admin/grants")
              if g["signer"] == "t2" and g["ticket"]]
    assert grants
    for grant in grants:
        ticket = decode_ticket(grant["ticket"])
        assert verify_ticket(ticket, grant["signature"], public)
        forged = replace(ticket, status=Status.TRUSTED, expires=ticket.expires + 1e6)
        assert not verify_ticket(forged, grant["signature"], public)


async def test_an_interaction_end_becomes_feedback(cluster: Cluster) -> None:
    neg = negotiator(cluster)
    try:
        grant = await neg.grant(T("t5"), T("t4"))
        assert grant.connection is not None
        now = time.time()
        given = await neg.report_interaction(T("t4"), grant.connection, "flow-1", now - 5, now,
                                             packets=12, octets=3000)
        assert given == "POS"  # traffic, and the sensors saw nothing bad
        silent = await neg.report_interaction(T("t4"), grant.connection, "flow-2", now - 5, now)
        assert silent is None  # nothing seen: no feedback
        assert connection(cluster.members[T("t4")], grant.connection)["reported"] == 1
    finally:
        await neg.aclose()


async def test_restart_keeps_state(cluster: Cluster) -> None:
    member = cluster.members[T("t2")]
    before = (admin(member, "/v1/admin/connections"), admin(member, "/v1/admin/reputations"))
    cluster.restart("t2")
    after = (admin(member, "/v1/admin/connections"), admin(member, "/v1/admin/reputations"))
    assert after == before and before[0]
    health = admin(member, "/v1/health")
    assert health["replayed"] > 0
