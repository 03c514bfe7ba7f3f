"""The provider: the special introducer that introduces anyone, but only on probation.

Rules this module owns (DESIGN.md §2.2):

* The provider is the introducer of last resort: a requester with no tenant path asks it, and it
  vouches **probation only** (a target never starts a provider introduction as TRUSTED).
* It refuses tenants whose global score is below θ_block (a judgement: DENY), and throttles
  tenants that already hold ``P_max`` outstanding probationary introductions (not a judgement:
  the refusal is not ``final``, and the traffic is inspected meanwhile; this still keeps
  whitewashers and sybils off any connection of their own, and so off the fast path). An
  introduction is outstanding from the offer until its target reports it TRUSTED or REVOKED, or
  until it expires; an offer no target confirms lapses after ``OFFER_TTL`` epochs.
* Its global view of each tenant is fed by the feedback on the connections it introduced (with
  credibility and the deviation test, like any introducer); nobody charges the provider for its
  introductions, and it recalls its other introductions of a subject after a negative ≥ MED.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobber.trust.evidence import VACUOUS
from jobber.trust.ledger import Ledger
from jobber.trust.messages import (
    Connect,
    Effect,
    IntroOffer,
    IntroRefuse,
    IntroRequest,
    Mode,
    Observe,
    Propose,
    Send,
    StatusNotice,
    Tick,
    Vouch,
)
from jobber.trust.policy import DEFAULT_POLICY, Policy
from jobber.types import PROVIDER, ConnectionId, Status, TenantId

_THROTTLED = "probationary introductions already outstanding"

OFFER_TTL = 2.0
"""Epochs an offer stays outstanding before a target confirms it."""


@dataclass(slots=True)
class Probation:
    requester: TenantId
    status: Status
    expires: float


class ProviderLedger(Ledger):
    """The provider's ledger: a global view, probationary introductions, no connections."""

    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        super().__init__(PROVIDER, policy)
        self.probations: dict[ConnectionId, Probation] = {}
        self.probations_of: dict[TenantId, set[ConnectionId]] = {}  # by requester
        self._handlers[Connect] = self._ignore
        self._handlers[Observe] = self._ignore
        self._handlers[Propose] = self._ignore

    def outstanding(self, requester: TenantId, now: float) -> int:
        """Probationary introductions of ``requester`` not yet settled."""
        settled = (Status.TRUSTED, Status.REVOKED)
        return sum(
            1
            for cid in self.probations_of.get(requester, ())
            if now < (p := self.probations[cid]).expires and p.status not in settled
        )

    def _ignore(self, _event: object, _now: float) -> list[Effect]:
        return self._refuse("the provider is no endpoint of any connection")

    def _on_request(self, request: IntroRequest, now: float) -> list[Effect]:
        requester = request.requester
        if (request.path != (PROVIDER,) or request.hop != 0 or request.chain
                or request.sender != requester or request.mode is not Mode.SEQUENTIAL
                or request.connection in self.introductions or requester == request.target
                or request.target == PROVIDER):
            return self._refuse("malformed request for a probationary introduction")
        reason = self._refusal(requester, now)
        if reason is not None:
            throttled = reason.endswith(_THROTTLED)
            return [Send(IntroRefuse(PROVIDER, requester, request.connection, reason,
                                     final=not throttled))]
        opinion = self.opinion(requester, now) or VACUOUS
        self._record_introduction(request, now)
        self.probations[request.connection] = Probation(requester, Status.PROBATION,
                                                        now + OFFER_TTL)
        self.probations_of.setdefault(requester, set()).add(request.connection)
        vouch = Vouch(PROVIDER, requester, opinion, probation=True)
        return [Send(IntroOffer(PROVIDER, requester, request.connection, vouch))]

    def _refusal(self, requester: TenantId, now: float) -> str | None:
        p = self.policy
        score = self.score(requester, now)
        if score < p.theta_block:
            return f"provider: global score {score:.3f} < θ_block {p.theta_block:g}"
        if self.outstanding(requester, now) >= p.P_max:
            return f"provider: {p.P_max} {_THROTTLED}"
        return None

    def _on_notice(self, notice: StatusNotice, now: float) -> list[Effect]:
        record = self.introductions.get(notice.connection)
        probation = self.probations.get(notice.connection)
        if record is None or probation is None:
            return self._refuse("notice about a connection the provider did not introduce")
        if notice.sender not in (record.requester, record.target):
            return self._refuse("notice from a non-endpoint")
        probation.expires = record.expires  # confirmed by an endpoint: lives as long
        probation.status = notice.status
        return []

    def _after_hearsay(self, _subject: TenantId, _now: float) -> list[Effect]:
        return []  # the provider holds no connections; θ_block does its refusing

    def _on_tick(self, event: Tick, now: float) -> list[Effect]:
        for cid in [c for c, p in self.probations.items() if now >= p.expires]:
            requester = self.probations.pop(cid).requester
            ids = self.probations_of[requester]
            ids.discard(cid)
            if not ids:
                del self.probations_of[requester]
        return super()._on_tick(event, now)
