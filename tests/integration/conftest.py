"""Fixtures for integration tests: real Jobber servers as processes on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobber.client.negotiator import Access, Negotiator
from jobber.server.cluster import Cluster, Member
from jobber.types import TenantId


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def start_cluster(folder: Path, tenants: list[str], **kwargs: Any) -> Cluster:
    cluster = Cluster(folder, tenants, **kwargs)
    cluster.start()
    return cluster


@pytest.fixture(scope="module")
def cluster_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start clusters that are all stopped at the end of the module, also on failure."""
    started: list[Cluster] = []

    def make(tenants: list[str], **kwargs: Any) -> Cluster:
        kwargs.setdefault("timeout", 1.0)
        kwargs.setdefault("processes", 2)
        cluster = start_cluster(tmp_path_factory.mktemp("jbcluster"), tenants, **kwargs)
        started.append(cluster)
        return cluster

    yield make
    for cluster in started:
        cluster.stop()


def negotiator(cluster: Cluster, timeout: float = 2.0) -> Negotiator:
    """A negotiator with access to every tenant server of ``cluster``."""
    servers = {m.tenant: Access(m.url, m.client_token or "") for m in cluster.members.values()
               if m.client_token}
    return Negotiator(servers, cluster.provider.url, timeout=timeout)


def connect(cluster: Cluster, requester: str, target: str) -> str:
    """Negotiate a connection from outside any event loop; returns its id."""

    async def run() -> str:
        neg = negotiator(cluster)
        try:
            grant = await neg.grant(TenantId(requester), TenantId(target))
        finally:
            await neg.aclose()
        assert grant.connection is not None, grant
        return grant.connection

    return asyncio.run(run())


def observe(member: Member, connection: str, interaction: str, severity: str) -> dict[str, Any]:
    response = httpx.post(f"{member.url}/v1/local/observe",
                          json={"connection": connection, "interaction": interaction,
                                "severity": severity},
                          headers={"authorization": f"Bearer {member.client_token}"},
                          timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def clean(member: Member, connection: str, times: int, tag: str = "") -> None:
    for i in range(times):
        assert observe(member, connection, f"{tag}{member.tenant}-{i}", "POS")["accepted"]


def admin(member: Member, path: str) -> Any:
    response = httpx.get(f"{member.url}{path}",
                         headers={"authorization": f"Bearer {member.admin_token}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def connection(member: Member, connection_id: str) -> dict[str, Any]:
    found = [c for c in admin(member, "/v1/admin/connections")
             if c["connection"] == connection_id]
    assert found, f"{member.tenant} holds no connection {connection_id}"
    result: dict[str, Any] = found[0]
    return result


def view(member: Member, tenant: str) -> dict[str, Any] | None:
    found = [r for r in admin(member, "/v1/admin/reputations") if r["tenant"] == tenant]
    return found[0] if found else None
