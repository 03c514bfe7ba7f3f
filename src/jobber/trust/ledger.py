"""One tenant's private trust state and the rules that change it: ``handle(event, now)``.

A ``Ledger`` holds what one tenant knows and nothing else: its reputations of other tenants
(``views``), how credible each reporter's feedback has been, its connections (as requester or
target), the introductions it made (as introducer), its blocks and its pending handshakes. It
learns about other tenants only through the messages it is handed; it never reads another
ledger. Every change answers an event and is announced as effects.

Rules this module owns (DESIGN.md §2.2):

* **Proof of transaction.** Feedback counts only if it names a live connection, comes from one
  of its endpoints, and was not already given for that interaction. Anything else changes nothing.
* **Feedback** about subject A over connection c: the reporter updates its view of A and charges
  (or credits) its introducer ρ·w; each introducer on the way up weights the report by the
  reporter's credibility, damps it by δ if it deviates from its own firm view (not for HIGH), and
  passes it on at most ``D_max`` hops, charging the next introducer ρ·w in turn. A charge goes
  to the introducer's *referral* record, which counts wherever it acts as an introducer (the
  target's trust in the last introducer, a vouch for an earlier one) but never in judging its
  own connections: an honest tenant that vouched for a bad one loses standing as an
  introducer, not its links (docs/decisions.md).
* **Demotion and recall.** A negative of severity ≥ MED demotes c at once, and each introducer it
  reaches recalls every other live connection it introduced for A — unless the introducer's own
  firm view (≥ n_dev evidence) makes the report deviate, which marks it as likely slander (a
  HIGH report is never tested: it always recalls).
* **Revocation.** A score at or below θ_drop, on at least ``n_min`` evidence, revokes every
  connection with A and blocks A for ``T_block·10^(offences−1)`` epochs (capped). (At, not only
  under: from full trust one HIGH lands exactly on 0.5 = θ_drop; and not on less evidence than
  trust needs: one false alarm about a stranger does not cut it off; see docs/decisions.md.)
* **Promotion.** Only the target promotes, to TRUSTED, and only with score ≥ θ_trust, evidence
  ≥ n_min, ``m_clean`` clean interactions since the last negative, and no block in force.
* **Status.** Either endpoint may restrict a connection and tells the other; the other applies a
  restriction at once and a promotion only from the target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobber.errors import ProtocolError
from jobber.trust.evidence import Evidence, Opinion
from jobber.trust.introduction import (
    Handshake,
    Phase,
    evaluate_proposal,
    next_hop,
    previous_hop,
    refusal_to_introduce,
)
from jobber.trust.messages import (
    Accept,
    Closed,
    Connect,
    Effect,
    Enforce,
    Event,
    Feedback,
    Introduced,
    IntroOffer,
    IntroRefuse,
    IntroRequest,
    Message,
    Mode,
    Observe,
    Propose,
    Recall,
    Send,
    StatusNotice,
    Tick,
    Ticket,
    Vouch,
)
from jobber.trust.policy import DEFAULT_POLICY, Policy
from jobber.trust.records import Block, Connection, Introduction
from jobber.types import PROVIDER, ConnectionId, Severity, Status, TenantId

HANDSHAKE_TIMEOUT = 1.0
"""Epochs a requester waits for an introduction before giving up (fail closed)."""


class Ledger:
    """One tenant's private trust state."""

    def __init__(self, me: TenantId, policy: Policy = DEFAULT_POLICY) -> None:
        self.me = me
        self.policy = policy
        self.views: dict[TenantId, Evidence] = {}  # what each tenant did to us (or others)
        self.referrals: dict[TenantId, Evidence] = {}  # what the tenants it introduced did
        self.credibility: dict[TenantId, Evidence] = {}
        self.connections: dict[ConnectionId, Connection] = {}
        self.peers: dict[TenantId, ConnectionId] = {}  # the current connection with each peer
        self.introductions: dict[ConnectionId, Introduction] = {}
        self.introduced_for: dict[TenantId, set[ConnectionId]] = {}
        self.blocks: dict[TenantId, Block] = {}
        self.offences: dict[TenantId, int] = {}
        self.handshakes: dict[ConnectionId, Handshake] = {}
        self._serial = 0
        self.refusal: str | None = None  # why the last event changed nothing, if it was refused
        self._handlers: dict[type[Any], Callable[[Any, float], list[Effect]]] = {
            Connect: self._on_connect,
            Observe: self._on_observe,
            Tick: self._on_tick,
            IntroRequest: self._on_request,
            IntroOffer: self._on_handshake,
            IntroRefuse: self._on_handshake,
            Accept: self._on_handshake,
            Propose: self._on_propose,
            Feedback: self._on_feedback,
            Recall: self._on_recall,
            StatusNotice: self._on_notice,
        }

    # --- the one entry point ------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Effect]:
        """Apply ``event`` at time ``now``; return what must happen as a result."""
        self.refusal = None
        handler = self._handlers.get(type(event))
        if handler is None:
            raise ProtocolError(f"{self.me}: cannot handle {type(event).__name__}")
        if isinstance(event, Message) and event.recipient != self.me:
            return self._refuse("misdelivered: not addressed to this tenant")
        return handler(event, now)

    def _refuse(self, reason: str) -> list[Effect]:
        """Refuse an input: nothing changes, and ``refusal`` says why."""
        self.refusal = reason
        return []

    # --- queries (read-only) ------------------------------------------------------------------

    def score(self, peer: TenantId, now: float) -> float:
        view = self.views.get(peer)
        return self.policy.a if view is None else view.score(now, self.policy)

    def evidence(self, peer: TenantId, now: float) -> float:
        view = self.views.get(peer)
        return 0.0 if view is None else view.count(now, self.policy)

    def opinion(self, peer: TenantId, now: float) -> Opinion | None:
        view = self.views.get(peer)
        return None if view is None else view.opinion(now, self.policy)

    def referral_opinion(self, peer: TenantId, now: float) -> Opinion | None:
        """How far ``peer`` is trusted *as an introducer*: its direct view plus its referral
        record (the credits and charges for what the tenants it introduced did)."""
        direct = self.views.get(peer)
        record = self.referrals.get(peer)
        if record is None:
            return None if direct is None else direct.opinion(now, self.policy)
        if direct is None:
            return record.opinion(now, self.policy)
        return direct.plus(record, now, self.policy).opinion(now, self.policy)

    def referral_score(self, peer: TenantId, now: float) -> float:
        opinion = self.referral_opinion(peer, now)
        return self.policy.a if opinion is None else opinion.expectation(self.policy.a)

    def is_blocked(self, peer: TenantId, now: float) -> bool:
        block = self.blocks.get(peer)
        return block is not None and now < block.until

    def connection_with(self, peer: TenantId, now: float) -> Connection | None:
        """The current, unexpired connection with ``peer`` (possibly revoked)."""
        cid = self.peers.get(peer)
        conn = None if cid is None else self.connections.get(cid)
        return conn if conn is not None and now < conn.expires else None

    # --- requester side -----------------------------------------------------------------------

    def _on_connect(self, event: Connect, now: float) -> list[Effect]:
        target = event.target
        refused = self._refusal_to_connect(target, now)
        if refused is not None:
            return [Introduced(ConnectionId(""), target, None, False, refused)]
        current = self.connection_with(target, now)
        if current is not None and (current.is_live(now) or self.is_blocked(target, now)):
            return [Introduced(current.id, target, current.status, current.by_provider,
                               f"already connected: {current.reason}")]
        self._serial += 1
        cid = ConnectionId(f"{self.me}#{self._serial}")
        path = event.path or (PROVIDER,)
        mode = event.mode if event.path else Mode.SEQUENTIAL
        shake = Handshake(cid, self.me, target, path, mode, now)
        first = shake.start()
        self.handshakes[cid] = shake
        return [Send(first)]

    def _refusal_to_connect(self, target: TenantId, now: float) -> str | None:
        if target == self.me or target == PROVIDER:
            return f"cannot connect to {target!r}"
        if self.is_blocked(target, now):
            return f"{target} is blocked until epoch {self.blocks[target].until:g}"
        return None

    def _on_handshake(self, message: IntroOffer | IntroRefuse | Accept, now: float) -> list[Effect]:
        shake = self.handshakes.get(message.connection)
        if shake is None:
            return self._refuse("no introduction in progress for this connection")
        try:
            nxt = shake.receive(message)
        except ProtocolError as exc:
            return self._refuse(str(exc))
        if nxt is not None:
            return [Send(nxt)]
        del self.handshakes[shake.connection]
        by_provider = shake.path == (PROVIDER,)
        if shake.phase is not Phase.DONE or shake.ticket is None:
            return [Introduced(shake.connection, shake.target, None, by_provider, shake.reason,
                               shake.final)]
        ticket = shake.ticket
        conn = Connection(ticket.connection, self.me, ticket.target, ticket.path, ticket.status,
                          now, ticket.expires, ticket.reason)
        self._install(conn)
        return [
            self._enforce(conn),
            Introduced(conn.id, conn.target, conn.status, by_provider, ticket.reason),
        ]

    # --- introducer side ----------------------------------------------------------------------

    def _on_request(self, request: IntroRequest, now: float) -> list[Effect]:
        if not self._is_well_formed(request):
            return self._refuse("malformed introduction request")
        prev, nxt = previous_hop(request), next_hop(request)
        linked = self._is_linked(prev, now) and self._is_linked(nxt, now)
        blocked = self.is_blocked(prev, now) or self.is_blocked(request.requester, now)
        as_introducer = request.hop > 0  # the previous hop is itself an introducer
        score = self.referral_score(prev, now) if as_introducer else self.score(prev, now)
        reason = refusal_to_introduce(score, self.evidence(prev, now),
                                      blocked=blocked, linked=linked, policy=self.policy)
        if reason is not None:
            return [Send(IntroRefuse(self.me, request.requester, request.connection, reason))]
        opinion = (self.referral_opinion(prev, now) if as_introducer
                   else self.opinion(prev, now))
        assert opinion is not None  # evidence ≥ n_intro implies a view
        vouch = Vouch(self.me, prev, opinion)
        self._record_introduction(request, now)
        return [Send(self._forward(request, vouch))]

    def _is_well_formed(self, request: IntroRequest) -> bool:
        path, hop = request.path, request.hop
        if not 0 <= hop < len(path) or path[hop] != self.me or len(request.chain) != hop:
            return False
        if request.connection in self.introductions or request.requester == request.target:
            return False
        expected = request.requester if request.mode is Mode.SEQUENTIAL else previous_hop(request)
        return request.sender == expected

    def _forward(self, request: IntroRequest, vouch: Vouch) -> Message:
        if request.mode is Mode.SEQUENTIAL:
            return IntroOffer(self.me, request.requester, request.connection, vouch)
        chain = (*request.chain, vouch)
        if request.hop + 1 < len(request.path):
            return IntroRequest(self.me, request.path[request.hop + 1], request.connection,
                                request.requester, request.target, request.path,
                                request.hop + 1, chain, request.mode)
        return Propose(self.me, request.target, request.connection, request.requester,
                       request.target, request.path, chain)

    def _record_introduction(self, request: IntroRequest, now: float) -> None:
        record = Introduction(request.connection, request.requester, request.target,
                              request.path, request.hop, now + self.policy.connection_ttl)
        self.introductions[record.connection] = record
        for party in (record.requester, record.target):
            self.introduced_for.setdefault(party, set()).add(record.connection)

    def _is_linked(self, peer: TenantId, now: float) -> bool:
        conn = self.connection_with(peer, now)
        return conn is not None and conn.is_live(now)

    # --- target side --------------------------------------------------------------------------

    def _on_propose(self, proposal: Propose, now: float) -> list[Effect]:
        if not self._is_valid_proposal(proposal):
            return self._refuse("malformed proposal")
        requester, path = proposal.requester, proposal.path
        by_provider = path == (PROVIDER,)
        current = self.connection_with(requester, now)
        if current is not None and current.is_live(now):
            reason = f"already connected ({current.id})"
            return [Send(IntroRefuse(self.me, requester, proposal.connection, reason))]
        if not by_provider and not self._is_linked(path[-1], now):
            reason = f"no live connection to the introducer {path[-1]}"
            return [Send(IntroRefuse(self.me, requester, proposal.connection, reason))]
        verdict = evaluate_proposal(
            self.opinion(requester, now),
            None if by_provider else self.referral_opinion(path[-1], now),
            proposal.chain,
            blocked=self.is_blocked(requester, now),
            policy=self.policy,
            by_provider=by_provider,
        )
        if verdict.status is None:
            effects: list[Effect] = [
                Send(IntroRefuse(self.me, requester, proposal.connection, verdict.reason))
            ]
            if by_provider:
                effects.append(Send(StatusNotice(self.me, PROVIDER, proposal.connection,
                                                 Status.REVOKED, verdict.reason)))
            return effects
        expires = now + self.policy.connection_ttl
        conn = Connection(proposal.connection, requester, self.me, path, verdict.status, now,
                          expires, verdict.reason)
        self._install(conn)
        ticket = Ticket(conn.id, requester, self.me, path, conn.status, now, expires,
                        verdict.reason)
        effects = [Send(Accept(self.me, requester, conn.id, ticket)), self._enforce(conn)]
        if by_provider:
            effects.append(Send(StatusNotice(self.me, PROVIDER, conn.id, conn.status,
                                             verdict.reason)))
        return effects

    def _is_valid_proposal(self, proposal: Propose) -> bool:
        path, chain = proposal.path, proposal.chain
        if proposal.target != self.me or proposal.requester == self.me or not path:
            return False
        if proposal.connection in self.connections or len(chain) != len(path):
            return False
        for i, vouch in enumerate(chain):
            subject = proposal.requester if i == 0 else path[i - 1]
            if vouch.introducer != path[i] or vouch.subject != subject:
                return False
            if vouch.probation != (path[i] == PROVIDER):
                return False
        chained = proposal.sender == path[-1] and path != (PROVIDER,)
        return proposal.sender == proposal.requester or chained

    def _install(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        self.peers[conn.peer(self.me)] = conn.id

    # --- feedback: the reporter ---------------------------------------------------------------

    def _on_observe(self, event: Observe, now: float) -> list[Effect]:
        conn = self.connections.get(event.connection)
        if conn is None or not conn.is_live(now) or event.interaction in conn.reported:
            return self._refuse("feedback needs a live connection of ours, once per interaction")
        conn.reported.add(event.interaction)
        subject, severity = conn.peer(self.me), event.severity
        positive = severity is Severity.POS
        weight = self.policy.weight(severity)
        self._view(subject, now).add(positive, weight, now, self.policy)
        introducer = conn.introducer_for(self.me)
        if introducer != PROVIDER:  # the provider's introductions are unvetted: no charge
            self._referral(introducer, now).add(positive, self.policy.rho * weight, now,
                                                self.policy)
        feedback = Feedback(self.me, introducer, conn.id, event.interaction, self.me, subject,
                            severity, 1)
        return [Send(feedback), *self._judge(conn, subject, severity, now)]

    def _judge(self, conn: Connection, subject: TenantId, severity: Severity,
               now: float) -> list[Effect]:
        """The reporting endpoint's own decision after adding its evidence."""
        if severity is Severity.POS:
            conn.clean += 1
            if self.me == conn.target and conn.status in (Status.PROBATION, Status.DEMOTED):
                reason = self._refusal_to_promote(conn, subject, now)
                if reason is None:
                    return self._set_status(conn, Status.TRUSTED, self._promotion(conn, now), now)
            return []
        conn.clean = 0
        effects: list[Effect] = []
        if severity >= Severity.MED and conn.status in (Status.TRUSTED, Status.PROBATION):
            effects += self._set_status(conn, Status.DEMOTED,
                                        f"{severity.name} feedback on {conn.id}", now)
        score = self.score(subject, now)
        if self._should_revoke(subject, score, now):
            effects += self._revoke(subject, score, now)
        return effects

    def _should_revoke(self, subject: TenantId, score: float, now: float) -> bool:
        """θ_drop revokes, but only on as much evidence as trust needs (n_min): one false alarm
        about a stranger must not cut it off (docs/decisions.md)."""
        return score <= self.policy.theta_drop and self.evidence(subject, now) >= self.policy.n_min

    def _refusal_to_promote(self, conn: Connection, subject: TenantId, now: float) -> str | None:
        p = self.policy
        if self.is_blocked(subject, now):
            return "blocked"
        if self.score(subject, now) < p.theta_trust:
            return "score below θ_trust"
        if self.evidence(subject, now) < p.n_min:
            return "evidence below n_min"
        if conn.clean < p.m_clean:
            return "too few clean interactions"
        return None

    def _promotion(self, conn: Connection, now: float) -> str:
        peer = conn.peer(self.me)
        return (f"promoted: score {self.score(peer, now):.3f} ≥ θ_trust "
                f"{self.policy.theta_trust:g}, evidence {self.evidence(peer, now):.2f} ≥ "
                f"{self.policy.n_min:g}, {conn.clean} clean ≥ {self.policy.m_clean}")

    def _revoke(self, subject: TenantId, score: float, now: float) -> list[Effect]:
        offences = self.offences.get(subject, 0) + 1
        self.offences[subject] = offences
        until = now + self.policy.block_duration(offences)
        self.blocks[subject] = Block(until, offences)
        reason = (f"score {score:.3f} ≤ θ_drop {self.policy.theta_drop:g}: revoked, blocked "
                  f"until epoch {until:g} (offence {offences})")
        conn = self.connection_with(subject, now)
        if conn is None or conn.status is Status.REVOKED:
            return []
        return self._set_status(conn, Status.REVOKED, reason, now)

    def _set_status(self, conn: Connection, status: Status, reason: str,
                    now: float) -> list[Effect]:
        if status is not Status.TRUSTED:
            conn.clean = 0
        conn.status, conn.reason = status, reason
        peer = conn.peer(self.me)
        effects: list[Effect] = [
            self._enforce(conn),
            Send(StatusNotice(self.me, peer, conn.id, status, reason)),
        ]
        if conn.by_provider:
            effects.append(Send(StatusNotice(self.me, PROVIDER, conn.id, status, reason)))
        return effects

    def _enforce(self, conn: Connection) -> Enforce:
        return Enforce(conn.id, conn.requester, conn.target, conn.status, conn.expires,
                       conn.reason)

    def _referral(self, peer: TenantId, now: float) -> Evidence:
        record = self.referrals.get(peer)
        if record is None:
            record = self.referrals[peer] = Evidence(now)
        return record

    def _view(self, peer: TenantId, now: float) -> Evidence:
        view = self.views.get(peer)
        if view is None:
            view = self.views[peer] = Evidence(now)
        return view

    # --- feedback: the introducers ------------------------------------------------------------

    def _on_feedback(self, feedback: Feedback, now: float) -> list[Effect]:
        record = self.introductions.get(feedback.connection)
        if record is None or now >= record.expires or not self._is_valid_feedback(record, feedback):
            return self._refuse("feedback fails proof of transaction")
        record.seen.add((feedback.interaction, feedback.reporter))
        p = self.policy
        subject, severity = feedback.subject, feedback.severity
        positive = severity is Severity.POS
        weight, deviates = self._weigh(feedback.reporter, subject, severity, now)
        self._view(subject, now).add(positive, weight, now, p)
        effects: list[Effect] = []
        upstream = record.toward(subject)
        if upstream != subject:  # another introducer vouched for the subject to us: charge it
            self._referral(upstream, now).add(positive, p.rho * weight, now, p)
            if feedback.hop < p.D_max:
                effects.append(Send(Feedback(self.me, upstream, feedback.connection,
                                             feedback.interaction, feedback.reporter, subject,
                                             severity, feedback.hop + 1)))
        if severity >= Severity.MED and p.recall and not deviates:
            # A report the deviation test flags as far from a firm view of ours is treated as
            # likely slander: damped, and no recall on its word (HIGH skips the test).
            effects += self._recall(subject, feedback.connection, severity, now)
        if positive:
            return effects  # a good report never lowers a score: nothing to revoke
        return effects + self._after_hearsay(subject, now)

    def _is_valid_feedback(self, record: Introduction, feedback: Feedback) -> bool:
        reporter = feedback.reporter
        if reporter not in (record.requester, record.target):
            return False
        if feedback.subject != record.other(reporter) or feedback.hop > self.policy.D_max:
            return False
        if feedback.hop != record.distance(reporter):
            return False
        if (feedback.interaction, reporter) in record.seen:
            return False
        return feedback.sender == record.toward(reporter)

    def _weigh(self, reporter: TenantId, subject: TenantId, severity: Severity,
               now: float) -> tuple[float, bool]:
        """A report's weight (credibility-weighted, damped if it deviates from a firm view),
        and whether it deviated."""
        p = self.policy
        weight = p.weight(severity)
        view = self.views.get(subject)
        deviates = False
        if severity is not Severity.HIGH and view is not None and view.count(now, p) >= p.n_dev:
            value = 0.0 if severity.is_negative else 1.0
            deviates = abs(value - view.score(now, p)) > p.dev_d
            credibility = self.credibility.get(reporter)
            if credibility is None:
                credibility = self.credibility[reporter] = Evidence(now)
            credibility.add(not deviates, 1.0, now, p)
            if deviates:
                weight *= p.dev_delta
        credibility = self.credibility.get(reporter)
        trust = p.a if credibility is None else credibility.score(now, p)
        return weight * trust, deviates

    def _recall(self, subject: TenantId, cause: ConnectionId, severity: Severity,
                now: float) -> list[Effect]:
        effects: list[Effect] = []
        for cid in sorted(self.introduced_for.get(subject, ())):
            record = self.introductions.get(cid)
            if cid == cause or record is None or now >= record.expires:
                continue
            reason = f"recalled by {self.me}: {severity.name} feedback about {subject} on {cause}"
            effects.append(Send(Recall(self.me, record.other(subject), cid, subject, reason)))
        return effects

    def _after_hearsay(self, subject: TenantId, now: float) -> list[Effect]:
        """An introducer whose own view fell to θ_drop revokes its own connection too."""
        score = self.score(subject, now)
        if self._should_revoke(subject, score, now) and not self.is_blocked(subject, now):
            return self._revoke(subject, score, now)
        return []

    # --- notices to endpoints -----------------------------------------------------------------

    def _on_recall(self, recall: Recall, now: float) -> list[Effect]:
        conn = self.connections.get(recall.connection)
        if conn is None or recall.sender not in conn.path or recall.subject != conn.peer(self.me):
            return self._refuse("recall from outside the path or about another tenant")
        if conn.status in (Status.TRUSTED, Status.PROBATION):
            return self._set_status(conn, Status.DEMOTED, recall.reason, now)
        return []

    def _on_notice(self, notice: StatusNotice, now: float) -> list[Effect]:
        conn = self.connections.get(notice.connection)
        if conn is None or notice.sender != conn.peer(self.me) or notice.status == conn.status:
            return self._refuse("notice from a non-endpoint, or changing nothing")
        restricts = notice.status > conn.status
        if not restricts and notice.sender != conn.target:
            return self._refuse("only the target promotes")
        if restricts:
            conn.clean = 0
        conn.status, conn.reason = notice.status, f"{notice.sender}: {notice.reason}"
        return [self._enforce(conn)]

    # --- time ---------------------------------------------------------------------------------

    def _on_tick(self, _event: Tick, now: float) -> list[Effect]:
        effects: list[Effect] = []
        for cid in [c.id for c in self.connections.values() if now >= c.expires]:
            conn = self.connections.pop(cid)
            peer = conn.peer(self.me)
            if self.peers.get(peer) == cid:
                del self.peers[peer]
            effects.append(Closed(cid, peer, "expired"))
        for cid in [r.connection for r in self.introductions.values() if now >= r.expires]:
            record = self.introductions.pop(cid)
            for party in (record.requester, record.target):
                ids = self.introduced_for.get(party)
                if ids is not None:
                    ids.discard(cid)
                    if not ids:
                        del self.introduced_for[party]
        for peer in [t for t, b in self.blocks.items() if now >= b.until]:
            del self.blocks[peer]
        for shake in [s for s in self.handshakes.values() if now - s.started >= HANDSHAKE_TIMEOUT]:
            shake.time_out("no answer in time: fail closed")
            del self.handshakes[shake.connection]
            effects.append(Introduced(shake.connection, shake.target, None,
                                      shake.path == (PROVIDER,), shake.reason))
        return effects
