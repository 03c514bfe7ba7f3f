"""Verdicts → one feedback value per interaction. Pure.

When an interaction ends (a flow is removed, a connection closes, an epoch ticks) the Jobber
server asks: what did my sensors think of the peer while it lasted? The answer is one value:

* the worst negative severity among the verdicts about the peer in the interaction's window
  (LOW < MED < HIGH);
* ``Severity.POS`` when there were verdicts and all were good (traffic was seen, nothing bad);
* ``None`` when no verdict names the peer in the window (nothing seen: no feedback is sent).

Invariants: only verdicts whose ``tenant`` is the peer count (verdicts about addresses of no known
tenant never become feedback); the window is closed at both ends; the order of the verdicts does
not matter. ``VerdictLog`` is the small bounded store a server keeps between interaction ends;
it answers with the same function.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from jobber.sensors.rules import Verdict
from jobber.types import Severity, TenantId


def feedback(verdicts: Iterable[Verdict], peer: TenantId, start: float,
             end: float) -> Severity | None:
    """The feedback value for an interaction with ``peer`` that lasted from ``start`` to ``end``."""
    worst: Severity | None = None
    for verdict in verdicts:
        if verdict.tenant != peer or not start <= verdict.time <= end:
            continue
        if worst is None or verdict.severity > worst:
            worst = verdict.severity
    return worst


class VerdictLog:
    """The verdicts of the last ``horizon`` seconds (of event time), per tenant.

    Verdicts without a tenant are not kept. Memory is bounded by ``horizon`` and by ``limit``
    verdicts per tenant (the oldest go first).
    """

    def __init__(self, horizon: float = 3600.0, limit: int = 10_000) -> None:
        if horizon <= 0 or limit <= 0:
            raise ValueError("horizon and limit must be positive")
        self.horizon = horizon
        self.limit = limit
        self._by_tenant: dict[TenantId, deque[Verdict]] = {}

    def record(self, verdicts: Iterable[Verdict]) -> None:
        for verdict in verdicts:
            if verdict.tenant is None:
                continue
            kept = self._by_tenant.get(verdict.tenant)
            if kept is None:
                kept = self._by_tenant[verdict.tenant] = deque(maxlen=self.limit)
            kept.append(verdict)

    def feedback_for(self, peer: TenantId, start: float, end: float) -> Severity | None:
        """``feedback`` over the kept verdicts about ``peer``."""
        return feedback(self._by_tenant.get(peer, ()), peer, start, end)

    def prune(self, now: float) -> int:
        """Forget verdicts older than ``now - horizon``; returns how many were dropped."""
        cutoff = now - self.horizon
        dropped = 0
        for tenant in list(self._by_tenant):
            kept = self._by_tenant[tenant]
            before = len(kept)
            fresh = deque((v for v in kept if v.time >= cutoff), maxlen=self.limit)
            dropped += before - len(fresh)
            if fresh:
                self._by_tenant[tenant] = fresh
            else:
                del self._by_tenant[tenant]
        return dropped
