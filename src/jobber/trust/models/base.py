"""The one interface every trust model offers the simulator (Jobber and the baselines alike).

A model answers, for one interaction from ``src`` to ``dst`` at time ``now``, what the network
does with it (an ``Admission``), and takes the feedback both endpoints give when the interaction
ends. Models are pure: time is an argument, randomness an explicit ``random.Random``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from jobber.types import ConnectionId, Decision, InteractionId, Severity, Status, TenantId


@dataclass(frozen=True, slots=True)
class Admission:
    """A model's answer for one interaction."""

    decision: Decision
    connection: ConnectionId | None = None  # the connection the interaction runs on, if any
    status: Status | None = None  # that connection's status, for models that have connections
    new_connection: bool = False  # an introduction was made for this interaction
    by_provider: bool = False  # ... and the provider made it
    messages: int = 0  # protocol messages the admission cost
    reason: str = ""  # why: path, evidence, rule


class TrustModel(Protocol):
    """A trust model the simulator can drive."""

    name: str

    def join(
        self, tenant: TenantId, now: float, overrides: Mapping[str, Any] | None = None
    ) -> None:
        """Add ``tenant``; ``overrides`` are its own policy changes (models may ignore them)."""

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        """Decide an interaction that ``src`` opens towards ``dst``."""

    def feedback(
        self,
        reporter: TenantId,
        subject: TenantId,
        admission: Admission,
        interaction: InteractionId,
        severity: Severity,
        now: float,
    ) -> None:
        """``reporter`` rates ``subject`` for the interaction that ``admission`` let through."""

    def tick(self, now: float) -> None:
        """Time moved on to ``now`` (an epoch boundary)."""
