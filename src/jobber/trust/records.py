"""What a ledger holds about connections, introductions and blocks: plain mutable records.

A ``Connection`` is held by each of its two endpoints (the requester and the target), each with
its own copy of the status, kept in step by status notices. An ``Introduction`` is held by each
introducer on the connection's path: it is what makes a feedback report admissible there (proof
of transaction) and what a recall walks. A ``Block`` is an escalating refusal of one tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobber.types import PROVIDER, ConnectionId, InteractionId, Status, TenantId


@dataclass(slots=True)
class Connection:
    """A connection as one of its endpoints holds it."""

    id: ConnectionId
    requester: TenantId
    target: TenantId
    path: tuple[TenantId, ...]  # the introducers, requester side first; (PROVIDER,) for probation
    status: Status
    created: float
    expires: float
    reason: str
    clean: int = 0  # clean interactions this endpoint saw since the last negative
    reported: set[InteractionId] = field(default_factory=set)

    @property
    def by_provider(self) -> bool:
        return self.path == (PROVIDER,)

    def peer(self, me: TenantId) -> TenantId:
        return self.target if me == self.requester else self.requester

    def introducer_for(self, me: TenantId) -> TenantId:
        """The introducer next to ``me`` on the path: where ``me`` sends its feedback."""
        return self.path[0] if me == self.requester else self.path[-1]

    def is_live(self, now: float) -> bool:
        return self.status is not Status.REVOKED and now < self.expires


@dataclass(slots=True)
class Introduction:
    """An introduction this tenant made, as an introducer holds it."""

    connection: ConnectionId
    requester: TenantId
    target: TenantId
    path: tuple[TenantId, ...]
    position: int
    expires: float
    seen: set[tuple[InteractionId, TenantId]] = field(default_factory=set)

    def toward(self, party: TenantId) -> TenantId:
        """The next party from this introducer towards an endpoint."""
        if party == self.requester:
            return self.requester if self.position == 0 else self.path[self.position - 1]
        last = len(self.path) - 1
        return self.target if self.position == last else self.path[self.position + 1]

    def distance(self, party: TenantId) -> int:
        """Hops from an endpoint to this introducer along the path."""
        if party == self.requester:
            return self.position + 1
        return len(self.path) - self.position

    def other(self, party: TenantId) -> TenantId:
        return self.target if party == self.requester else self.requester


@dataclass(slots=True)
class Block:
    until: float
    offences: int
