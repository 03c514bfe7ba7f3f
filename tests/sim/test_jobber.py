"""The simulator's Jobber decisions come from jobber.trust: the production ledgers decide."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from jobber.sim.runner import Simulation, Trace, model_rng, run_one
from jobber.sim.scenario import Behaviour, Kind, Sensors
from jobber.trust.ledger import Ledger
from jobber.trust.models import build
from jobber.trust.models.base import Admission
from jobber.trust.models.ibr import JobberModel
from jobber.types import Decision, InteractionId, Severity, Status, TenantId
from tests.sim.simkit import tiny


class LedgerSpy:
    """Wraps the real model and checks every admission against the ledgers at that moment."""

    def __init__(self, inner: JobberModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.checked = 0

    def join(
        self, tenant: TenantId, now: float, overrides: Mapping[str, Any] | None = None
    ) -> None:
        self.inner.join(tenant, now, overrides)

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        admission = self.inner.admit(src, dst, now)
        if admission.connection is not None:
            ledgers = self.inner.network.ledgers
            copies = [ledgers[t].connections.get(admission.connection) for t in (src, dst)]
            statuses = [c.status for c in copies if c is not None]
            assert statuses, "an admission on a connection no ledger holds"
            assert admission.status == max(statuses)
            assert admission.decision is admission.status.decision
            self.checked += 1
        return admission

    def feedback(self, reporter: TenantId, subject: TenantId, admission: Admission,
                 interaction: InteractionId, severity: Severity, now: float) -> None:
        self.inner.feedback(reporter, subject, admission, interaction, severity, now)

    def tick(self, now: float) -> None:
        self.inner.tick(now)


SCENARIO = tiny(Behaviour(Kind.TRAITOR, 2, turn_at=8), Behaviour(Kind.SLANDERER, 1),
                tenants=16, epochs=20, models=("jobber",), sensors=Sensors(false_negative_rate=0.0))


def test_every_admission_is_the_status_the_ledgers_hold() -> None:
    spy = LedgerSpy(JobberModel())
    trace: list[Trace] = []
    Simulation(SCENARIO, 0, spy, trace=trace).run()
    unconnected = [t for t in trace if t.admission.connection is None]
    assert spy.checked + len(unconnected) == len(trace) and spy.checked > len(trace) / 2
    assert all(t.admission.decision is Decision.DENY for t in unconnected)  # refused introductions
    decisions = Counter(t.admission.decision for t in trace)
    assert decisions[Decision.DIRECT] and decisions[Decision.INSPECT]


def test_feedback_and_ticks_drive_the_ledgers(monkeypatch: pytest.MonkeyPatch) -> None:
    handled: Counter[str] = Counter()
    original = Ledger.handle

    def spy(self: Ledger, event: Any, now: float) -> Any:
        handled[type(event).__name__] += 1
        return original(self, event, now)

    monkeypatch.setattr(Ledger, "handle", spy)
    run_one(SCENARIO, 0, "jobber")
    assert handled["Observe"] > 0 and handled["Tick"] > 0 and handled["Connect"] > 0


def test_traitors_are_demoted_by_the_core_after_they_turn() -> None:
    trace: list[Trace] = []
    sim = Simulation(SCENARIO, 1, build("jobber", model_rng(1, "jobber")), trace=trace)
    sim.run()
    traitors = {a.name for a in sim.actors if a.kind is Kind.TRAITOR}
    attacks = [t for t in trace if t.src in traitors and t.attack]
    assert attacks
    later = [t for t in trace if t.src in traitors and t.epoch >= 14]
    assert all(t.admission.decision is not Decision.DIRECT for t in later)
    assert any(t.admission.status in (Status.DEMOTED, Status.REVOKED) for t in attacks)


def test_ablations_change_the_policy_the_core_runs() -> None:
    model = build("jobber-no-recall", model_rng(0, "x"))
    assert isinstance(model, JobberModel)
    assert model.network.policy.recall is False
    other = build("jobber-no-accountability", model_rng(0, "x"))
    assert isinstance(other, JobberModel) and other.network.policy.rho == 0.0
