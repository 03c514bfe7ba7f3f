"""What goes into and comes out of a ledger: events, protocol messages and effects.

All are frozen dataclasses with slots. A ledger is driven by ``handle(event, now)``; an event is
either a local request (``Connect``, ``Observe``, ``Tick``) or a ``Message`` from another tenant's
ledger. What a ledger wants done comes back as effects: ``Send`` a message, ``Enforce`` a
connection's decision on the network, report an ``Introduced`` outcome to the local client, or
note that a connection was ``Closed``. The Jobber server signs and carries messages; the
in-memory network (``jobber.trust.network``) delivers them in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jobber.trust.evidence import Opinion
from jobber.types import ConnectionId, Decision, InteractionId, Severity, Status, TenantId


class Mode(StrEnum):
    """How an introduction travels."""

    SEQUENTIAL = "sequential"  # the requester asks each introducer in turn, then proposes
    CHAIN = "chain"  # one message travels the path; the target evaluates the whole chain


@dataclass(frozen=True, slots=True)
class Vouch:
    """An introducer's opinion of the hop before it on the path, signed into the introduction."""

    introducer: TenantId
    subject: TenantId
    opinion: Opinion
    probation: bool = False  # the provider's vouch: probationary only


@dataclass(frozen=True, slots=True)
class Ticket:
    """The target's grant of a connection (signed by the target in a deployment)."""

    connection: ConnectionId
    requester: TenantId
    target: TenantId
    path: tuple[TenantId, ...]  # the introducers, requester side first
    status: Status
    issued: float
    expires: float
    reason: str


# --- messages between ledgers ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    sender: TenantId
    recipient: TenantId


@dataclass(frozen=True, slots=True)
class IntroRequest(Message):
    """Ask ``recipient`` (the introducer at ``path[hop]``) to vouch on the way to ``target``."""

    connection: ConnectionId
    requester: TenantId
    target: TenantId
    path: tuple[TenantId, ...]
    hop: int
    chain: tuple[Vouch, ...]
    mode: Mode


@dataclass(frozen=True, slots=True)
class IntroOffer(Message):
    """An introducer agrees and hands back its vouch (sequential mode)."""

    connection: ConnectionId
    vouch: Vouch


@dataclass(frozen=True, slots=True)
class IntroRefuse(Message):
    """An introducer or the target says no; ``reason`` names the rule.

    ``final`` is False for a throttle that says nothing about the requester (the provider's
    ``P_max``): the requester may try again later, and its traffic meanwhile is inspected.
    """

    connection: ConnectionId
    reason: str
    final: bool = True


@dataclass(frozen=True, slots=True)
class Propose(Message):
    """Offer the target a connection, with the chain of vouches that introduces the requester."""

    connection: ConnectionId
    requester: TenantId
    target: TenantId
    path: tuple[TenantId, ...]
    chain: tuple[Vouch, ...]


@dataclass(frozen=True, slots=True)
class Accept(Message):
    """The target grants the connection. ``signature`` is the target's detached signature of
    the ticket, added by its Jobber server (the pure core leaves it empty), so that anyone holding
    the ticket can check it against the target's registered key."""

    connection: ConnectionId
    ticket: Ticket
    signature: str = ""


@dataclass(frozen=True, slots=True)
class Feedback(Message):
    """One endpoint's verdict on one interaction, travelling up the introduction path."""

    connection: ConnectionId
    interaction: InteractionId
    reporter: TenantId
    subject: TenantId
    severity: Severity
    hop: int  # 1 at the introducer next to the reporter


@dataclass(frozen=True, slots=True)
class Recall(Message):
    """An introducer withdraws its vouch for ``subject`` on ``connection``: demote it."""

    connection: ConnectionId
    subject: TenantId
    reason: str


@dataclass(frozen=True, slots=True)
class StatusNotice(Message):
    """An endpoint tells the other endpoint (and the provider) a connection's new status."""

    connection: ConnectionId
    status: Status
    reason: str


@dataclass(frozen=True, slots=True)
class LinkNotice(Message):
    """An endpoint tells the provider's directory whether a connection is live.

    The directory records who is connected to whom, never how much they trust each other; it is
    what introduction paths are searched over. Ledgers neither send nor handle it: the Jobber
    server derives it from ``Enforce`` and ``Closed`` effects.
    """

    connection: ConnectionId
    requester: TenantId
    target: TenantId
    live: bool


# --- local events -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """The local client wants a connection to ``target`` through ``path`` (empty: provider)."""

    target: TenantId
    path: tuple[TenantId, ...] = ()
    mode: Mode = Mode.SEQUENTIAL


@dataclass(frozen=True, slots=True)
class Observe:
    """The local sensors' one feedback value for one interaction on ``connection``."""

    connection: ConnectionId
    interaction: InteractionId
    severity: Severity


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: expire connections, introductions, blocks and stalled handshakes."""


Event = Connect | Observe | Tick | Message


# --- effects ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    message: Message


@dataclass(frozen=True, slots=True)
class Enforce:
    """Make the network treat ``connection``'s traffic as ``decision`` (the grant changed)."""

    connection: ConnectionId
    requester: TenantId
    target: TenantId
    status: Status
    expires: float
    reason: str

    @property
    def decision(self) -> Decision:
        return self.status.decision


@dataclass(frozen=True, slots=True)
class Introduced:
    """The outcome of a ``Connect``: a connection with ``status``, or ``None`` and why not.

    A refusal is ``final`` (a judgement: DENY) unless it was only a throttle (INSPECT for now).
    """

    connection: ConnectionId
    target: TenantId
    status: Status | None
    by_provider: bool
    reason: str
    final: bool = True

    @property
    def decision(self) -> Decision:
        if self.status is not None:
            return self.status.decision
        return Decision.DENY if self.final else Decision.INSPECT


@dataclass(frozen=True, slots=True)
class Closed:
    connection: ConnectionId
    peer: TenantId
    reason: str


Effect = Send | Enforce | Introduced | Closed
