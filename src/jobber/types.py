"""The vocabulary every part of Jobber shares: ids, decisions, severities, connection status.

Invariants: ``Severity`` and ``Status`` are ordered from best to worst, so ``max`` of two values
is the more serious one; ``Status.decision`` is the only mapping from a connection's status to
what the network does with its traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum, StrEnum
from typing import NewType, Protocol, TypeVar

from jobber.errors import ConfigError

TenantId = NewType("TenantId", str)
ConnectionId = NewType("ConnectionId", str)
InteractionId = NewType("InteractionId", str)

PROVIDER = TenantId("provider")
"""The data-center operator's id: the special introducer of last resort."""


_T = TypeVar("_T")


class Rng(Protocol):
    """The part of ``random.Random`` that pure code may use: always an explicit, seeded instance.

    The trust core never imports ``random`` (a test and the project's hooks forbid it), so that no
    code path can reach the module-level generator; callers pass a ``random.Random``.
    """

    def random(self) -> float: ...

    def randrange(self, start: int, stop: int, step: int = 1, /) -> int: ...

    def choice(self, seq: Sequence[_T], /) -> _T: ...


class Decision(StrEnum):
    """What the network does with the traffic of one tenant pair."""

    DIRECT = "DIRECT"  # trusted fast path: bypasses the security stack
    INSPECT = "INSPECT"  # through the receiving tenant's security stack
    DENY = "DENY"  # dropped


class Severity(IntEnum):
    """One feedback value per interaction, ordered from clean to worst."""

    POS = 0
    LOW = 1
    MED = 2
    HIGH = 3

    @property
    def is_negative(self) -> bool:
        return self is not Severity.POS

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            known = ", ".join(s.name for s in cls)
            raise ConfigError(f"unknown severity {text!r} (known: {known})") from None


class Status(IntEnum):
    """A connection's status, ordered from most to least permissive."""

    TRUSTED = 0  # DIRECT
    PROBATION = 1  # INSPECT: introduced, not yet vetted by history
    DEMOTED = 2  # INSPECT after misbehaviour
    REVOKED = 3  # DENY

    @property
    def decision(self) -> Decision:
        return _DECISION[self]

    @property
    def is_live(self) -> bool:
        return self is not Status.REVOKED


_DECISION = {
    Status.TRUSTED: Decision.DIRECT,
    Status.PROBATION: Decision.INSPECT,
    Status.DEMOTED: Decision.INSPECT,
    Status.REVOKED: Decision.DENY,
}
