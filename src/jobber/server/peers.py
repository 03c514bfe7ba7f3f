"""How a Jobber server reaches others: a swappable transport and the provider's registry.

``Transport`` is the one seam between a server and the network (as httpx's transports are):
``jobber.server.http.LeanTransport`` speaks HTTP/1.1 over keep-alive connections; tests can hand
any object with the same methods (an in-memory router, a peer that is always away).

``Registry`` resolves a tenant id to its URL and public key by asking the provider (the root of
tenant identity) and caches the answer; it keeps a copy of the whole registry, refreshed every
epoch and at a cache miss (at most every few seconds), so a first contact with a registered
tenant seldom waits for a look-up.

Failures are translated at the transport: every network problem becomes ``PeerUnavailable``
with the peer's name.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jobber.errors import JobberError
from jobber.server.codec import WireError
from jobber.server.wire import public_key_from_b64
from jobber.types import PROVIDER, TenantId

PREFETCH_EVERY = 5.0
"""Seconds between two copies of the whole registry taken because of a cache miss."""


class PeerUnavailable(JobberError):
    """A peer did not answer in time, or could not be reached."""


class Transport(Protocol):
    async def post(self, url: str, body: bytes, *, timeout: float,
                   headers: dict[str, str] | None = None) -> tuple[int, bytes]: ...

    async def get(self, url: str, *, timeout: float,
                  headers: dict[str, str] | None = None) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Peer:
    tenant: TenantId
    url: str
    public_key: Ed25519PublicKey


class Registry:
    """Tenant id → URL and public key, as the provider registered them; cached."""

    def __init__(self, transport: Transport, provider_url: str | None, timeout: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.provider_url = provider_url.rstrip("/") if provider_url else None
        self.timeout = timeout
        self.clock = clock
        self._peers: dict[TenantId, Peer] = {}
        self._prefetched = -math.inf

    def known(self, tenant: TenantId) -> Ed25519PublicKey | None:
        peer = self._peers.get(tenant)
        return None if peer is None else peer.public_key

    def add(self, tenant: TenantId, url: str, public_key_b64: str) -> Peer:
        peer = Peer(tenant, url.rstrip("/"), public_key_from_b64(public_key_b64))
        self._peers[tenant] = peer
        return peer

    def forget(self, tenant: TenantId) -> None:
        self._peers.pop(tenant, None)

    async def prefetch(self) -> int:
        """Copy the provider's whole registry (so a first contact needs no look-up); returns
        how many peers were learnt. A provider that is away leaves the cache as it was."""
        if self.provider_url is None:
            return 0
        try:
            status, body = await self.transport.get(f"{self.provider_url}/v1/registry",
                                                    timeout=self.timeout)
        except PeerUnavailable:
            return 0
        records = _json(body) if status == 200 else None
        if not isinstance(records, dict) or not isinstance(records.get("tenants"), list):
            return 0
        learnt = 0
        for record in records["tenants"]:
            if not isinstance(record, dict):
                continue
            tenant, url, key = record.get("tenant"), record.get("url"), record.get("public_key")
            if not (isinstance(tenant, str) and isinstance(url, str) and isinstance(key, str)):
                continue
            if tenant == PROVIDER:
                url = self.provider_url
            try:
                self.add(TenantId(tenant), url, key)
            except WireError:
                continue
            learnt += 1
        return learnt

    async def resolve(self, tenant: TenantId) -> Peer | None:
        """The peer, asking the provider if it is not cached; ``None`` if unregistered."""
        peer = self._peers.get(tenant)
        if peer is not None:
            return peer
        if self.provider_url is None:
            return None
        if self.clock() - self._prefetched > PREFETCH_EVERY:  # one miss: refresh the whole copy
            self._prefetched = self.clock()
            await self.prefetch()
            peer = self._peers.get(tenant)
            if peer is not None:
                return peer
        status, body = await self.transport.get(f"{self.provider_url}/v1/registry/{tenant}",
                                                timeout=self.timeout)
        if status == 404:
            return None
        if status != 200:
            raise PeerUnavailable(f"provider registry answered {status} for {tenant!r}")
        record = _json(body)
        if not isinstance(record, dict) or record.get("tenant") != tenant:
            raise PeerUnavailable(f"provider registry sent a malformed record for {tenant!r}")
        url = record.get("url")
        key = record.get("public_key")
        if not isinstance(url, str) or not isinstance(key, str):
            raise PeerUnavailable(f"provider registry sent a malformed record for {tenant!r}")
        if tenant == PROVIDER:
            url = self.provider_url
        try:
            return self.add(tenant, url, key)
        except WireError as exc:
            raise PeerUnavailable(f"provider registry: bad key for {tenant!r}: {exc.reason}") \
                from exc


def _json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body)
    except ValueError:
        return None
