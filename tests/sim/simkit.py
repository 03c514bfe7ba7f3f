"""Shared helpers for the simulator's tests: tiny scenarios and an honest fake trust model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobber.sim.scenario import Behaviour, Scenario, Sensors, Traffic
from jobber.trust.models.base import Admission
from jobber.types import Decision, InteractionId, Severity, Status, TenantId


def tiny(*behaviours: Behaviour, tenants: int = 10, epochs: int = 10, **changes: Any) -> Scenario:
    """A small scenario with perfect sensors unless told otherwise."""
    fields: dict[str, Any] = {
        "name": "tiny", "tenants": tenants, "epochs": epochs, "seeds": 2,
        "models": ("inspect-all",), "behaviours": behaviours,
        "traffic": Traffic(services_per_tenant=3, sessions_per_epoch=2),
        "sensors": Sensors(false_negative_rate=0.0),
    }
    fields.update(changes)
    return Scenario(**fields)


class FakeModel:
    """A deterministic model whose decision is a function of (src, dst, now); records calls."""

    def __init__(self, decide: Callable[[TenantId, TenantId, float], Decision] | None = None,
                 name: str = "fake") -> None:
        self.name = name
        self.decide = decide or (lambda s, d, n: Decision.INSPECT)
        self.joined: list[tuple[TenantId, float, Mapping[str, Any] | None]] = []
        self.feedbacks: list[tuple[TenantId, TenantId, Severity, float]] = []
        self.ticks: list[float] = []

    def join(
        self, tenant: TenantId, now: float, overrides: Mapping[str, Any] | None = None
    ) -> None:
        self.joined.append((tenant, now, overrides))

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        decision = self.decide(src, dst, now)
        status = {Decision.DIRECT: Status.TRUSTED, Decision.INSPECT: Status.PROBATION,
                  Decision.DENY: Status.REVOKED}[decision]
        return Admission(decision, status=status)

    def feedback(self, reporter: TenantId, subject: TenantId, admission: Admission,
                 interaction: InteractionId, severity: Severity, now: float) -> None:
        self.feedbacks.append((reporter, subject, severity, now))

    def tick(self, now: float) -> None:
        self.ticks.append(now)
