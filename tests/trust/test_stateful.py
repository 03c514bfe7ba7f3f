"""A small network of ledgers driven at random, with the core's invariants checked after every step.

Random introductions (both modes), feedback of every severity (valid, repeated and forged), and
time steps. Every message is delivered by hand so that each single ``handle`` call can be checked
to change its own ledger only.
"""

from __future__ import annotations

from collections import deque

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from jobber.trust.messages import (
    Connect,
    Effect,
    Enforce,
    Event,
    Feedback,
    Introduced,
    Message,
    Mode,
    Observe,
    Tick,
)
from jobber.trust.network import Network
from jobber.trust.paths import best_paths
from jobber.types import PROVIDER, ConnectionId, InteractionId, Severity, Status, TenantId

from .helpers import snapshot

TENANTS = [TenantId(t) for t in ("a", "b", "c", "d", "e")]
tenants = st.sampled_from(TENANTS)


class LedgerNetwork(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.net = Network()
        for t in TENANTS:
            self.net.add(t)
        self.now = 0.0
        self.serial = 0
        self.effects: list[tuple[TenantId, Effect]] = []

    # --- delivery, checking that one handle call changes one ledger ----------------------------

    def submit(self, tenant: TenantId, event: Event) -> list[tuple[TenantId, Effect]]:
        out: list[tuple[TenantId, Effect]] = []
        queue: deque[Message] = deque()
        self._handle(tenant, event, queue, out)
        while queue:
            message = queue.popleft()
            if message.recipient in self.net.ledgers:
                self._handle(message.recipient, message, queue, out)
        self.effects = out
        return out

    def _handle(self, tenant: TenantId, event: Event, queue: deque[Message],
                out: list[tuple[TenantId, Effect]]) -> None:
        others = {t: snapshot(led) for t, led in self.net.ledgers.items() if t != tenant}
        effects = self.net.ledgers[tenant].handle(event, self.now)
        assert others == {t: snapshot(led) for t, led in self.net.ledgers.items() if t != tenant}
        self.net._route(tenant, effects, queue, out)

    # --- rules --------------------------------------------------------------------------------

    @rule(requester=tenants, dest=tenants, chain=st.booleans())
    def introduce(self, requester: TenantId, dest: TenantId, chain: bool) -> None:
        paths = best_paths(self.net.directory, requester, dest)
        path = paths[0].introducers if paths else ()
        mode = Mode.CHAIN if chain and path else Mode.SEQUENTIAL
        self.submit(requester, Connect(dest, path, mode))
        for _tenant, effect in self.effects:
            if isinstance(effect, Introduced) and effect.by_provider:
                assert effect.status is not Status.TRUSTED, "provider granted TRUSTED"

    @precondition(lambda self: any(led.connections for led in self.net.ledgers.values()))
    @rule(data=st.data(), severity=st.sampled_from(list(Severity)))
    def feedback(self, data: st.DataObject, severity: Severity) -> None:
        reporter = data.draw(st.sampled_from([t for t in TENANTS
                                              if self.net.ledgers[t].connections]))
        ledger = self.net.ledgers[reporter]
        cid = data.draw(st.sampled_from(sorted(ledger.connections)))
        conn = ledger.connections[cid]
        self.serial += 1
        iid = InteractionId(f"i{self.serial}")
        valid = conn.is_live(self.now) and ledger.peers.get(conn.peer(reporter)) == cid
        subject = conn.peer(reporter)
        introducer = self.net.ledgers[conn.introducer_for(reporter)]
        expect_recall = []
        record = introducer.introductions.get(cid)
        # The introducer takes the report as a negative unless it deviates from a firm view of
        # its own (likely slander); HIGH is never tested.
        pol = introducer.policy
        firm = introducer.evidence(subject, self.now) >= pol.n_dev
        slander = severity is not Severity.HIGH and firm and \
            introducer.score(subject, self.now) > pol.dev_d
        if valid and severity >= Severity.MED and record is not None and not slander and \
                self.now < record.expires and introducer.policy.recall:
            for other in introducer.introduced_for.get(subject, ()):
                rec = introducer.introductions[other]
                holder = self.net.ledgers[rec.other(subject)]
                c2 = holder.connections.get(other)
                if other != cid and self.now < rec.expires and c2 is not None \
                        and c2.is_live(self.now):
                    expect_recall.append((holder, other))
        self.submit(reporter, Observe(cid, iid, severity))
        for holder, other in expect_recall:
            assert holder.connections[other].status >= Status.DEMOTED, (other, severity)
        # The same interaction again changes nothing.
        before = {t: snapshot(led) for t, led in self.net.ledgers.items()}
        assert self.submit(reporter, Observe(cid, iid, severity)) == []
        assert before == {t: snapshot(led) for t, led in self.net.ledgers.items()}

    @rule(sender=tenants, reporter=tenants, subject=tenants, recipient=tenants,
          severity=st.sampled_from(list(Severity)))
    def forged_feedback(self, sender: TenantId, reporter: TenantId, subject: TenantId,
                        recipient: TenantId, severity: Severity) -> None:
        before = snapshot(self.net.ledgers[recipient])
        fake = ConnectionId(f"{reporter}#999")
        msg = Feedback(sender, recipient, fake, InteractionId("x"), reporter, subject,
                       severity, 1)
        assert self.net.ledgers[recipient].handle(msg, self.now) == []
        assert snapshot(self.net.ledgers[recipient]) == before

    @rule(dt=st.sampled_from([0.0, 1.0, 10.0, 100.0, 1500.0]))
    def advance(self, dt: float) -> None:
        self.now += dt
        for tenant in [*TENANTS, PROVIDER]:
            self.submit(tenant, Tick())

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def scores_stay_in_the_unit_interval(self) -> None:
        for led in self.net.ledgers.values():
            for peer in led.views:
                assert 0.0 <= led.score(peer, self.now) <= 1.0

    @invariant()
    def endpoints_agree_on_status(self) -> None:
        for t in TENANTS:
            led = self.net.ledgers[t]
            for peer, cid in led.peers.items():
                mine = led.connections[cid]
                theirs = self.net.ledgers[peer].connections.get(cid)
                if theirs is not None and self.net.ledgers[peer].peers.get(t) == cid:
                    assert mine.status is theirs.status, (cid, mine.status, theirs.status)

    @invariant()
    def no_promotion_under_a_block(self) -> None:
        for tenant, effect in self.effects:
            if isinstance(effect, Enforce) and effect.status is Status.TRUSTED \
                    and tenant == effect.target:
                assert not self.net.ledgers[tenant].is_blocked(effect.requester, self.now)

    @invariant()
    def provider_connections_start_on_probation(self) -> None:
        for led in self.net.ledgers.values():
            for conn in led.connections.values():
                if conn.by_provider and conn.created == self.now and conn.clean == 0:
                    assert conn.status is not Status.TRUSTED


TestLedgerNetwork = LedgerNetwork.TestCase
TestLedgerNetwork.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
