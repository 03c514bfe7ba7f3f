"""An in-memory network of ledgers: delivers ``Send`` effects in one process, without I/O.

``Network.submit`` hands one event to one ledger and then delivers every message that results,
first in, first out, until nothing is left in flight: a whole introduction or feedback cascade
completes inside one call. The other effects (``Enforce``, ``Introduced``, ``Closed``) are
returned, tagged with the tenant whose ledger produced them. The network also keeps the
directory of live connections (who is connected to whom, never how much they trust each other),
as the provider keeps it in a deployment, and ``introduce`` plays the Jobber client's negotiator:
try the best tenant paths, then fall back on the provider.

Invariants: a message reaches only its recipient's ledger; a message to an unknown tenant is
dropped and counted; delivery order is deterministic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jobber.trust.ledger import Ledger
from jobber.trust.messages import (
    Closed,
    Connect,
    Effect,
    Enforce,
    Event,
    Introduced,
    Message,
    Mode,
    Send,
    Tick,
)
from jobber.trust.paths import Weight, best_paths
from jobber.trust.policy import DEFAULT_POLICY, Policy
from jobber.trust.provider import ProviderLedger
from jobber.types import PROVIDER, Status, TenantId


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``Network.introduce`` achieved, with the cost in messages."""

    introduced: Introduced
    attempts: int
    messages: int


class Network:
    """Ledgers keyed by tenant, a provider, and a FIFO of messages in flight."""

    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        self.policy = policy
        self.provider = ProviderLedger(policy)
        self.ledgers: dict[TenantId, Ledger] = {PROVIDER: self.provider}
        self.directory: dict[TenantId, set[TenantId]] = {}
        self.messages = 0
        self.undelivered = 0

    def add(self, tenant: TenantId, overrides: Mapping[str, Any] | None = None) -> Ledger:
        """A new tenant with the network's policy and its own ``overrides``."""
        policy = self.policy.with_overrides(overrides) if overrides else self.policy
        ledger = self.ledgers[tenant] = Ledger(tenant, policy)
        self.directory.setdefault(tenant, set())
        return ledger

    def tenants(self) -> Iterable[TenantId]:
        return (t for t in self.ledgers if t != PROVIDER)

    def submit(self, tenant: TenantId, event: Event, now: float) -> list[tuple[TenantId, Effect]]:
        """Hand ``event`` to ``tenant``'s ledger and deliver everything that follows."""
        queue: deque[Message] = deque()
        out: list[tuple[TenantId, Effect]] = []
        self._route(tenant, self.ledgers[tenant].handle(event, now), queue, out)
        while queue:
            message = queue.popleft()
            self.messages += 1
            ledger = self.ledgers.get(message.recipient)
            if ledger is None:
                self.undelivered += 1
                continue
            self._route(message.recipient, ledger.handle(message, now), queue, out)
        return out

    def tick(self, now: float) -> list[tuple[TenantId, Effect]]:
        out: list[tuple[TenantId, Effect]] = []
        for tenant in list(self.ledgers):
            out += self.submit(tenant, Tick(), now)
        return out

    def introduce(
        self,
        requester: TenantId,
        target: TenantId,
        now: float,
        *,
        mode: Mode = Mode.SEQUENTIAL,
        weight: Weight | None = None,
    ) -> Outcome:
        """Negotiate a connection: the k best tenant paths in turn, then the provider."""
        before = self.messages
        p = self.ledgers[requester].policy
        paths = best_paths(self.directory, requester, target, k=p.k, max_introducers=p.H_max,
                           weight=weight)
        attempts = 0
        result: Introduced | None = None
        for path in [*(q.introducers for q in paths), ()]:
            attempts += 1
            effects = self.submit(requester, Connect(target, path, mode), now)
            result = next((e for t, e in effects if t == requester and isinstance(e, Introduced)),
                          None)
            if result is not None and (result.status is not None or not result.connection):
                break  # connected, or refused before any message (blocked, already connected)
        assert result is not None
        return Outcome(result, attempts, self.messages - before)

    def _route(self, tenant: TenantId, effects: list[Effect], queue: deque[Message],
               out: list[tuple[TenantId, Effect]]) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                queue.append(effect.message)
                continue
            if isinstance(effect, Enforce):
                self._link(effect.requester, effect.target, effect.status is not Status.REVOKED)
            elif isinstance(effect, Closed):
                self._link(tenant, effect.peer, False)
            out.append((tenant, effect))

    def _link(self, a: TenantId, b: TenantId, live: bool) -> None:
        if live:
            self.directory.setdefault(a, set()).add(b)
            self.directory.setdefault(b, set()).add(a)
        else:
            self.directory.get(a, set()).discard(b)
            self.directory.get(b, set()).discard(a)
