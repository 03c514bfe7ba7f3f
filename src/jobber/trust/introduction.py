"""The IBR introduction handshake and the rules each party applies.

Rules this module owns:

* **Sequential mode** (the paper's poster): the requester asks each introducer on the path in turn
  (requester side first); each answers with a vouch (its opinion of the hop before it) or a
  refusal; with every vouch in hand the requester proposes to the target, which accepts or
  refuses. 2·(h + 1) messages for h introducers.
* **Chain mode**: one request travels the path; each introducer appends its vouch and forwards it;
  the last one proposes to the target, which evaluates the whole discounted chain and answers the
  requester directly. h + 2 messages.
* An **introducer** vouches only if its score of the previous hop is ≥ θ_intro with ≥ n_intro
  evidence, it holds live connections to both neighbours on the path, and it has blocked neither
  the previous hop nor the requester (``refusal_to_introduce``).
* The **target** fuses its own view of the requester with the chain's discounted opinion: refuse
  below θ_accept, TRUSTED at ≥ θ_trust with ≥ n_min evidence, else PROBATION. A provider
  introduction is probationary whatever the numbers (``evaluate_proposal``).

The requester's side is a state machine written as a table (as h11 writes HTTP/1.1): a message
that the table does not allow in the current phase is a ``ProtocolError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from jobber.errors import ProtocolError
from jobber.trust.evidence import VACUOUS, Opinion, discount_chain, fuse
from jobber.trust.messages import (
    Accept,
    IntroOffer,
    IntroRefuse,
    IntroRequest,
    Message,
    Mode,
    Propose,
    Ticket,
    Vouch,
)
from jobber.trust.policy import Policy
from jobber.types import ConnectionId, Status, TenantId


class Phase(StrEnum):
    ASKING = "asking"  # waiting for the introducer at path[hop]
    PROPOSED = "proposed"  # waiting for the target
    CHAIN_SENT = "chain-sent"  # chain mode: waiting for the target (or a refusal on the way)
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"


class Input(StrEnum):
    OFFER_MORE = "offer, more introducers to ask"
    OFFER_LAST = "offer from the last introducer"
    ACCEPT = "accept"
    REFUSE = "refuse"
    TIMEOUT = "timeout"


TRANSITIONS: dict[tuple[Phase, Input], Phase] = {
    (Phase.ASKING, Input.OFFER_MORE): Phase.ASKING,
    (Phase.ASKING, Input.OFFER_LAST): Phase.PROPOSED,
    (Phase.ASKING, Input.REFUSE): Phase.REFUSED,
    (Phase.ASKING, Input.TIMEOUT): Phase.FAILED,
    (Phase.PROPOSED, Input.ACCEPT): Phase.DONE,
    (Phase.PROPOSED, Input.REFUSE): Phase.REFUSED,
    (Phase.PROPOSED, Input.TIMEOUT): Phase.FAILED,
    (Phase.CHAIN_SENT, Input.ACCEPT): Phase.DONE,
    (Phase.CHAIN_SENT, Input.REFUSE): Phase.REFUSED,
    (Phase.CHAIN_SENT, Input.TIMEOUT): Phase.FAILED,
}

FINAL = frozenset({Phase.DONE, Phase.REFUSED, Phase.FAILED})


@dataclass(slots=True)
class Handshake:
    """The requester's side of one introduction."""

    connection: ConnectionId
    requester: TenantId
    target: TenantId
    path: tuple[TenantId, ...]
    mode: Mode
    started: float
    phase: Phase = Phase.ASKING
    hop: int = 0
    chain: list[Vouch] = field(default_factory=list)
    ticket: Ticket | None = None
    reason: str = ""
    final: bool = True  # False when the refusal was only a throttle

    def start(self) -> Message:
        """The first message to send."""
        if not self.path:
            raise ProtocolError(f"introduction {self.connection}: empty path")
        if self.mode is Mode.CHAIN:
            self.phase = Phase.CHAIN_SENT
        return self._request(0)

    def receive(self, message: Message) -> Message | None:
        """Advance on ``message``; return the next message to send, if any."""
        step = self._input(message)
        nxt = TRANSITIONS.get((self.phase, step))
        if nxt is None:
            raise ProtocolError(
                f"introduction {self.connection}: {step.value} from {message.sender!r} "
                f"is not allowed while {self.phase.value}"
            )
        self.phase = nxt
        if isinstance(message, IntroOffer):
            self.chain.append(message.vouch)
            self.hop += 1
            if nxt is Phase.ASKING:
                return self._request(self.hop)
            return Propose(self.requester, self.target, self.connection, self.requester,
                           self.target, self.path, tuple(self.chain))
        if isinstance(message, Accept):
            self.ticket = message.ticket
            self.reason = message.ticket.reason
        elif isinstance(message, IntroRefuse):
            self.reason = f"{message.sender}: {message.reason}"
            self.final = message.final
        return None

    def time_out(self, reason: str) -> None:
        self.phase = TRANSITIONS.get((self.phase, Input.TIMEOUT), self.phase)
        self.reason = reason

    @property
    def is_final(self) -> bool:
        return self.phase in FINAL

    def _input(self, message: Message) -> Input:
        if isinstance(message, IntroOffer):
            if self.phase is not Phase.ASKING or message.sender != self.path[self.hop]:
                raise ProtocolError(
                    f"introduction {self.connection}: unexpected offer from {message.sender!r}"
                )
            return Input.OFFER_MORE if self.hop + 1 < len(self.path) else Input.OFFER_LAST
        if isinstance(message, Accept):
            if message.sender != self.target or message.ticket.requester != self.requester:
                raise ProtocolError(
                    f"introduction {self.connection}: accept from {message.sender!r}, "
                    f"expected the target {self.target!r}"
                )
            return Input.ACCEPT
        if isinstance(message, IntroRefuse):
            allowed = {self.target, *self.path}
            if message.sender not in allowed:
                raise ProtocolError(
                    f"introduction {self.connection}: refusal from {message.sender!r}, "
                    "who is not on the path"
                )
            return Input.REFUSE
        raise ProtocolError(
            f"introduction {self.connection}: {type(message).__name__} is not part of a handshake"
        )

    def _request(self, hop: int) -> IntroRequest:
        return IntroRequest(self.requester, self.path[hop], self.connection, self.requester,
                            self.target, self.path, hop, tuple(self.chain), self.mode)


def previous_hop(request: IntroRequest) -> TenantId:
    """Whom the introducer at ``request.hop`` vouches for."""
    return request.requester if request.hop == 0 else request.path[request.hop - 1]


def next_hop(request: IntroRequest) -> TenantId:
    """Where the introduction goes after the introducer at ``request.hop``."""
    return request.path[request.hop + 1] if request.hop + 1 < len(request.path) else request.target


def refusal_to_introduce(
    score: float, count: float, *, blocked: bool, linked: bool, policy: Policy
) -> str | None:
    """Why an introducer will not vouch for the previous hop, or ``None`` if it will."""
    if blocked:
        return "the requester or the previous hop is blocked"
    if not linked:
        return "no live connection to both neighbours on the path"
    if count < policy.n_intro:
        return f"too little history to vouch (evidence {count:.2f} < n_intro {policy.n_intro:g})"
    if score < policy.theta_intro:
        return f"score {score:.3f} < θ_intro {policy.theta_intro:g}"
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The target's answer to a proposal, with the numbers behind it."""

    status: Status | None  # None: refused
    expectation: float
    evidence: float
    reason: str


def evaluate_proposal(
    own: Opinion | None,
    trust_in_last: Opinion | None,
    chain: tuple[Vouch, ...],
    *,
    blocked: bool,
    policy: Policy,
    by_provider: bool = False,
) -> Verdict:
    """Decide a proposal from the target's own view and the chain of vouches.

    ``trust_in_last`` is the target's opinion of the last introducer (``None``: none yet, so the
    chain is worth nothing); ``chain`` runs from the requester's side, so it is discounted from
    the target outwards. ``by_provider`` marks the provider's probationary introduction.
    """
    if blocked:
        return Verdict(None, 0.0, 0.0, "the requester is blocked")
    own = own or VACUOUS
    if by_provider:
        expectation = own.expectation(policy.a)
        evidence = own.evidence(policy.W)
        if evidence > 0 and expectation < policy.theta_accept:
            return Verdict(None, expectation, evidence,
                           f"own view {expectation:.3f} < θ_accept {policy.theta_accept:g}")
        return Verdict(Status.PROBATION, expectation, evidence,
                       "provider introduction: probation until the pair has history")
    opinions = [trust_in_last or VACUOUS, *(v.opinion for v in reversed(chain))]
    fused = fuse(own, discount_chain(opinions))
    expectation = fused.expectation(policy.a)
    evidence = fused.evidence(policy.W)
    path = " → ".join(v.introducer for v in chain)
    if expectation < policy.theta_accept:
        return Verdict(None, expectation, evidence,
                       f"via {path}: E {expectation:.3f} < θ_accept {policy.theta_accept:g}")
    if expectation >= policy.theta_trust and evidence >= policy.n_min:
        return Verdict(Status.TRUSTED, expectation, evidence,
                       f"via {path}: E {expectation:.3f} ≥ θ_trust {policy.theta_trust:g} with "
                       f"evidence {evidence:.2f} ≥ n_min {policy.n_min:g}")
    return Verdict(Status.PROBATION, expectation, evidence,
                   f"via {path}: E {expectation:.3f}, evidence {evidence:.2f}: probation")
