"""The negotiator: turns "tenant B wants to reach tenant A" into a Grant, across Jobber servers.

For a pair it has no live grant for, the negotiator asks the provider for the k best
introduction paths over its directory, then asks the requester's Jobber server to try them in
order (the server's ledger runs the IBR handshake with the introducers and the target), and
finally the provider's probationary introduction. The answer is a ``Grant``: DIRECT, INSPECT or
DENY, the connection, when it expires, and why.

Fail closed, never open: a peer or server that does not answer within its timeout, or a
provider that is down, makes a *new* grant INSPECT (for a short while, then it asks again);
grants already held stay in force until they expire. DENY comes only from a refusal.

Grants are cached per tenant pair (a connection carries both directions) until they expire.
``watch`` follows each tenant server's stream of decisions, so a demotion or revocation
replaces the cached grant and reaches every subscriber at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from jobber.types import Decision, TenantId

FAIL_CLOSED_SECONDS = 5.0
"""How long an INSPECT given for lack of an answer (or a DENY) is cached before asking again."""


@dataclass(frozen=True, slots=True)
class Access:
    """How the negotiator reaches one tenant's Jobber server."""

    url: str
    client_token: str


@dataclass(frozen=True, slots=True)
class Grant:
    requester: TenantId
    target: TenantId
    decision: Decision
    connection: str | None
    expires: float  # wall-clock seconds
    reason: str
    path: tuple[str, ...] = ()

    def is_valid(self, now: float) -> bool:
        return now < self.expires


Subscriber = Callable[[Grant], Awaitable[None] | None]


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class Negotiator:
    def __init__(self, servers: Mapping[TenantId, Access], provider_url: str, *,
                 timeout: float = 2.0, mode: str = "chain",
                 clock: Callable[[], float] = time.time,
                 client: httpx.AsyncClient | None = None) -> None:
        self.servers = dict(servers)
        self.provider_url = provider_url.rstrip("/")
        self.timeout = timeout
        self.mode = mode
        self.clock = clock
        self.client = client or httpx.AsyncClient(trust_env=False)
        self._owns_client = client is None
        self.cache: dict[tuple[str, str], Grant] = {}
        self.subscribers: list[Subscriber] = []
        self._watchers: list[asyncio.Task[None]] = []
        self._inflight: dict[tuple[str, str], asyncio.Future[Grant]] = {}

    async def aclose(self) -> None:
        for task in self._watchers:
            task.cancel()
        for task in self._watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._owns_client:
            await self.client.aclose()

    def cached(self, requester: TenantId, target: TenantId) -> Grant | None:
        grant = self.cache.get(_pair(requester, target))
        return grant if grant is not None and grant.is_valid(self.clock()) else None

    async def grant(self, requester: TenantId, target: TenantId) -> Grant:
        """The grant for traffic from ``requester`` to ``target`` (negotiated if needed)."""
        held = self.cached(requester, target)
        if held is not None:
            return held
        key = _pair(requester, target)
        pending = self._inflight.get(key)
        if pending is not None:  # one negotiation per pair at a time
            return await asyncio.shield(pending)
        future: asyncio.Future[Grant] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            grant = await self._negotiate(requester, target)
            self.cache[key] = grant
            future.set_result(grant)
            return grant
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._inflight[key]
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning

    async def _negotiate(self, requester: TenantId, target: TenantId) -> Grant:
        now = self.clock()
        access = self.servers.get(requester)
        if access is None:
            return self._closed(requester, target, f"no Jobber server known for {requester!r}")
        try:
            paths = await self._paths(requester, target)
        except (httpx.HTTPError, ValueError) as exc:
            return self._closed(requester, target,
                                f"provider unreachable ({type(exc).__name__}): fail closed")
        refusals = []
        for path in [*paths, []]:
            try:
                response = await self.client.post(
                    f"{access.url.rstrip('/')}/v1/local/connect",
                    json={"target": target, "path": path, "mode": self.mode,
                          "timeout": self.timeout},
                    headers={"authorization": f"Bearer {access.client_token}"},
                    timeout=self.timeout + 1.0)
            except httpx.HTTPError as exc:
                return self._closed(requester, target,
                                    f"{requester}'s server unreachable ({type(exc).__name__})")
            if response.status_code == 504:
                return self._closed(requester, target,
                                    f"no answer along {' → '.join(path) or 'provider'} in time")
            if response.status_code != 200:
                return self._closed(requester, target,
                                    f"{requester}'s server answered {response.status_code}")
            body = response.json()
            if body.get("status") is not None:
                return Grant(requester, target, Decision(body["decision"]), body["connection"],
                             float(body["expires"]), body["reason"],
                             tuple(body.get("path") or ()))
            if body.get("decision") == "INSPECT":  # throttled, not judged: inspect for now
                return self._closed(requester, target, f"throttled: {body.get('reason')}")
            refusals.append(f"{' → '.join(path) or 'provider'}: {body.get('reason')}")
            if body.get("connection") is None:
                break  # refused before any message (blocked, or already connected)
        return Grant(requester, target, Decision.DENY, None, now + FAIL_CLOSED_SECONDS,
                     "refused: " + "; ".join(refusals))

    async def _paths(self, requester: TenantId, target: TenantId) -> list[list[str]]:
        response = await self.client.get(f"{self.provider_url}/v1/paths",
                                          params={"source": requester, "target": target},
                                          timeout=self.timeout)
        response.raise_for_status()
        paths = response.json()["paths"]
        if not isinstance(paths, list):
            raise ValueError("malformed paths")
        return [list(map(str, p)) for p in paths]

    def _closed(self, requester: TenantId, target: TenantId, reason: str) -> Grant:
        return Grant(requester, target, Decision.INSPECT, None,
                     self.clock() + FAIL_CLOSED_SECONDS, f"{reason}: INSPECT (fail closed)")

    async def report_interaction(self, tenant: TenantId, connection: str, interaction: str,
                                 started: float, ended: float, packets: int = 0,
                                 octets: int = 0) -> str | None:
        """Tell ``tenant``'s server an interaction ended; returns the feedback it gave, if any.

        Enforcers call it for both endpoints when a flow ends. A server that does not answer
        loses this one feedback value, never a decision (it is logged by the caller).
        """
        access = self.servers.get(tenant)
        if access is None:
            return None
        response = await self.client.post(
            f"{access.url.rstrip('/')}/v1/local/interactions",
            json={"connection": connection, "interaction": interaction, "started": started,
                  "ended": ended, "packets": packets, "bytes": octets},
            headers={"authorization": f"Bearer {access.client_token}"}, timeout=self.timeout)
        response.raise_for_status()
        given = response.json().get("feedback")
        return str(given) if given is not None else None

    # --- pushes -------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> None:
        self.subscribers.append(callback)

    async def watch(self) -> None:
        """Follow every known server's decisions until ``aclose``."""
        for tenant, access in self.servers.items():
            self._watchers.append(asyncio.create_task(self._follow(tenant, access)))
        await asyncio.sleep(0)

    async def _follow(self, tenant: TenantId, access: Access) -> None:
        while True:
            try:
                async with self.client.stream(
                        "GET", f"{access.url.rstrip('/')}/v1/local/events",
                        headers={"authorization": f"Bearer {access.client_token}"},
                        timeout=httpx.Timeout(self.timeout, read=60.0)) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: "):
                            await self._apply(json.loads(line[6:]), tenant)
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.5)  # the server restarts or is away: follow it again

    async def _apply(self, event: Mapping[str, Any], source: TenantId) -> None:
        """A decision pushed by ``source``'s server. Both endpoints' servers push, on separate
        streams, so their news can arrive out of order: a restriction is taken from either, a
        relaxation only from the target (who alone promotes), and a revocation is final."""
        key = _pair(event["requester"], event["target"])
        held = self.cache.get(key)
        decision = Decision(event["decision"])
        if held is not None and held.connection == event["connection"]:
            if held.decision is Decision.DENY:
                return  # a revoked connection stays revoked
            if _rank(decision) < _rank(held.decision) and source != event["target"]:
                return  # stale news from the requester's side
        elif held is not None and held.connection is not None and held.is_valid(self.clock()):
            return  # about an older connection of the pair
        grant = Grant(TenantId(event["requester"]), TenantId(event["target"]), decision,
                      event["connection"], float(event["expires"]), event["reason"],
                      held.path if held is not None else ())
        self.cache[key] = grant
        if held is not None and held.decision == grant.decision and \
                held.connection == grant.connection:
            return
        for callback in list(self.subscribers):
            result = callback(grant)
            if inspect.isawaitable(result):
                await result


_RANKS = {Decision.DIRECT: 0, Decision.INSPECT: 1, Decision.DENY: 2}


def _rank(decision: Decision) -> int:
    return _RANKS[decision]
