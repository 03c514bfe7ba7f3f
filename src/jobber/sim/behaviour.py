"""Who each simulated tenant is and what it means to do: intentions and the feedback it gives.

A scenario's behaviour mix becomes a population of ``Actor``s: logical tenants with a behaviour,
a ring (for colluders) and the epoch they join. An actor's identity towards the trust model is
its ``name`` — except for a whitewasher, whose identity the runner changes each time it rejoins.

Two tables say what each kind does:

* ``_BAD_PHASE`` — whether the kind is in its bad phase at an epoch; an interaction it opens
  in a bad phase is an attack with probability ``f`` (against ring peers never);
* ``rate`` — the feedback a reporter gives once it knows the truthful verdict: silent
  non-compliant tenants give none, slanderers turn every clean verdict into a negative,
  colluders praise their ring whatever happened.

Invariants: whether a tenant attacks depends only on its behaviour, the epoch, the target's
ring and a uniform number drawn from the tenant's own ``random.Random`` (seeded per
(seed, tenant)); never on the trust model. Honest tenants — the ones the false-positive and
fast-path metrics are about — are exactly the actors of kind ``honest``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from jobber.sim.scenario import MALICIOUS_KINDS, Behaviour, Kind, Scenario
from jobber.types import Severity, TenantId

HONEST = Behaviour(Kind.HONEST, count=0)
NO_RING = -1


@dataclass(frozen=True, slots=True)
class Actor:
    """A logical tenant of the simulation."""

    index: int
    name: TenantId
    behaviour: Behaviour
    ring: int = NO_RING  # colluders of one behaviour entry share a ring number
    joins_at: int = 0  # sybils join late; everyone else at epoch 0

    @property
    def kind(self) -> Kind:
        return self.behaviour.kind

    @property
    def is_honest(self) -> bool:
        return self.behaviour.kind is Kind.HONEST

    @property
    def is_malicious(self) -> bool:
        return self.behaviour.kind in MALICIOUS_KINDS

    @property
    def gives_feedback(self) -> bool:
        return not (self.behaviour.kind is Kind.NONCOMPLIANT and self.behaviour.mode == "silent")

    @property
    def rejoins(self) -> bool:
        return self.behaviour.kind is Kind.WHITEWASHER


def _never(b: Behaviour, epoch: int) -> bool:
    return False


def _always(b: Behaviour, epoch: int) -> bool:
    return True


def _traitor(b: Behaviour, epoch: int) -> bool:
    return epoch >= b.turn_at


def _oscillator(b: Behaviour, epoch: int) -> bool:
    return epoch % b.period >= b.period - b.bad_for


_BAD_PHASE: dict[Kind, Callable[[Behaviour, int], bool]] = {
    Kind.HONEST: _never,
    Kind.SLANDERER: _never,
    Kind.NONCOMPLIANT: _never,
    Kind.ATTACKER: _always,
    Kind.CAMOUFLAGE: _always,
    Kind.COLLUDER: _always,
    Kind.WHITEWASHER: _always,
    Kind.SYBIL: _always,
    Kind.TRAITOR: _traitor,
    Kind.OSCILLATOR: _oscillator,
}


def in_bad_phase(behaviour: Behaviour, epoch: int) -> bool:
    return _BAD_PHASE[behaviour.kind](behaviour, epoch)


def intends_attack(actor: Actor, target: Actor, epoch: int, u: float) -> bool:
    """Whether ``actor``'s interaction towards ``target`` is an attack (``u`` ~ U[0, 1))."""
    b = actor.behaviour
    if not _BAD_PHASE[b.kind](b, epoch):
        return False
    if actor.ring != NO_RING and target.ring == actor.ring:
        return False
    return u < b.f


def rate(reporter: Actor, subject: Actor, truthful: Severity) -> Severity | None:
    """The feedback ``reporter`` gives about ``subject`` given the truthful verdict."""
    b = reporter.behaviour
    if not reporter.gives_feedback:
        return None
    if b.kind is Kind.SLANDERER and not truthful.is_negative:
        return b.slander
    if reporter.ring != NO_RING and subject.ring == reporter.ring:
        return Severity.POS
    return truthful


def tenant_name(index: int) -> TenantId:
    return TenantId(f"t{index:05d}")


def populate(scenario: Scenario, seed: int) -> tuple[Actor, ...]:
    """The scenario's actors for ``seed``: who gets which behaviour is shuffled per seed.

    The first ``scenario.tenants`` actors are the tenants present from epoch 0 (honest unless a
    behaviour entry claims them); sybils are extra accounts appended after them.
    """
    rng = random.Random(f"{seed}:population")
    slots = list(range(scenario.tenants))
    rng.shuffle(slots)
    assigned: dict[int, tuple[Behaviour, int]] = {}
    sybils: list[tuple[Behaviour, int]] = []
    cursor = 0
    for number, b in enumerate(scenario.behaviours):
        ring = number if b.kind is Kind.COLLUDER else NO_RING
        if b.kind is Kind.SYBIL:
            sybils.extend((b, ring) for _ in range(b.count))
            continue
        take = min(b.count, len(slots) - cursor)
        for slot in slots[cursor : cursor + take]:
            assigned[slot] = (b, ring)
        cursor += take
    actors = [
        Actor(i, tenant_name(i), *assigned.get(i, (HONEST, NO_RING)))
        for i in range(scenario.tenants)
    ]
    for b, ring in sybils:
        i = len(actors)
        actors.append(Actor(i, tenant_name(i), b, ring, joins_at=b.at))
    return tuple(actors)
