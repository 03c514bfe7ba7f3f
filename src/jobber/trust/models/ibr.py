"""Jobber behind the ``TrustModel`` interface: the production ledgers on an in-memory network.

Every decision comes from ``jobber.trust``: an interaction on an existing connection gets the
connection's status (the more restrictive of the two endpoints' copies); an interaction with no
connection makes the requester's negotiator try the k best tenant paths and then the provider;
a refused introduction is a DENY (no introduction, no traffic), except the provider's throttle,
which leaves the traffic to the security stack (INSPECT) until a probation settles. Feedback
is handed to the reporter's ledger as an ``Observe`` event, which validates it (proof of
transaction) and starts the cascade. Path search weighs the requester's first hop by its own
score of that introducer and every other edge as 1, as a deployed negotiator sees the directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobber.trust.messages import Observe
from jobber.trust.models.base import Admission
from jobber.trust.network import Network
from jobber.trust.paths import Weight
from jobber.trust.policy import DEFAULT_POLICY, Policy
from jobber.types import InteractionId, Rng, Severity, TenantId


class JobberModel:
    """Introduction-Based Routing with the production trust core."""

    def __init__(
        self,
        policy: Policy = DEFAULT_POLICY,
        *,
        name: str = "jobber",
        rng: Rng | None = None,
    ) -> None:
        self.name = name
        self.network = Network(policy)
        del rng  # accepted like every model's; the core needs none: it is deterministic

    def join(
        self, tenant: TenantId, now: float, overrides: Mapping[str, Any] | None = None
    ) -> None:
        self.network.add(tenant, overrides)

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        ledgers = self.network.ledgers
        ledger = ledgers[src]
        conn = ledger.connection_with(dst, now)
        if conn is not None and (conn.is_live(now) or ledger.is_blocked(dst, now)):
            other = ledgers[dst].connections.get(conn.id)
            status = conn.status if other is None else max(conn.status, other.status)
            return Admission(status.decision, conn.id, status, reason=conn.reason)
        outcome = self.network.introduce(src, dst, now, weight=self._weight(src, now))
        intro = outcome.introduced
        if intro.status is None:  # DENY, or INSPECT while the provider throttles
            return Admission(intro.decision, None, None, by_provider=intro.by_provider,
                             messages=outcome.messages, reason=intro.reason)
        return Admission(intro.status.decision, intro.connection, intro.status,
                         new_connection=True, by_provider=intro.by_provider,
                         messages=outcome.messages, reason=intro.reason)

    def feedback(
        self,
        reporter: TenantId,
        subject: TenantId,
        admission: Admission,
        interaction: InteractionId,
        severity: Severity,
        now: float,
    ) -> None:
        if admission.connection is None or reporter not in self.network.ledgers:
            return
        self.network.submit(reporter, Observe(admission.connection, interaction, severity), now)

    def tick(self, now: float) -> None:
        self.network.tick(now)

    def _weight(self, src: TenantId, now: float) -> Weight:
        ledger = self.network.ledgers[src]

        def weight(u: TenantId, v: TenantId) -> float:
            return ledger.score(v, now) if u == src else 1.0

        return weight
