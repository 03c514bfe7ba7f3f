"""Faults: a peer that hangs, a provider that is down. Both fail closed: INSPECT, never DIRECT."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jobber.server.cluster import Cluster
from jobber.server.keys import KeyPair
from jobber.types import Decision, TenantId

from .conftest import negotiator

pytestmark = pytest.mark.anyio
T = TenantId


@pytest.fixture(scope="module")
def cluster(cluster_factory: Any) -> Cluster:
    c: Cluster = cluster_factory(["t1", "t2", "t3"], processes=1)
    return c


@pytest.fixture
def hanging_peer() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()




async def test_a_peer_that_hangs_means_inspect_within_the_timeout(
        cluster: Cluster, hanging_peer: str) -> None:
    provider = cluster.provider
    response = httpx.post(f"{provider.url}/v1/admin/tenants",
                          json={"tenant": "hang", "public_key": KeyPair.generate().public_b64,
                                "url": hanging_peer},
                          headers={"authorization": f"Bearer {provider.admin_token}"})
    assert response.status_code == 201
    neg = negotiator(cluster, timeout=1.0)
    try:
        started = time.monotonic()
        grant = await neg.grant(T("t1"), T("hang"))
        elapsed = time.monotonic() - started
    finally:
        await neg.aclose()
    assert grant.decision is Decision.INSPECT and "fail closed" in grant.reason
    assert elapsed < 1.0 + 1.5, elapsed


async def test_provider_down_keeps_grants_and_inspects_new_ones(cluster: Cluster) -> None:
    neg = negotiator(cluster, timeout=1.0)
    try:
        held = await neg.grant(T("t2"), T("t3"))
        assert held.connection is not None
        cluster.kill("provider", signal.SIGKILL)
        again = await neg.grant(T("t2"), T("t3"))
        assert again == held  # in force until it expires
        fresh = await neg.grant(T("t1"), T("t2"))
        assert fresh.decision is Decision.INSPECT and "provider unreachable" in fresh.reason
        assert fresh.connection is None
    finally:
        await neg.aclose()
