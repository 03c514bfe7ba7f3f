"""What one run measured: a streaming ``Recorder`` fed every interaction, and its ``RunMetrics``.

The definitions (identities, not logical actors: a whitewasher's every new id is a new attacker):

* attack shares — malicious interactions admitted DIRECT, and delivered over any path (DIRECT,
  or INSPECT and missed by the security stack), over all malicious interactions opened;
* victim link — an ordered (attacker id, target id) pair of a malicious-kind consumer; a *flip*
  is an admission on the link that is DIRECT when the link's previous admission was not (or it
  had none). Free attacks per flip = attacks admitted DIRECT on victim links / their flips;
* time to isolation, per link — epochs from the link's first attack to its first non-DIRECT
  admission at or after it; per attacker — from its first attack to one epoch after its last
  DIRECT admission (0 if none came after the first attack). ``inf`` when it never happened
  (for an attacker: it was still DIRECT in the last epoch);
* honest false positives — share of honest tenants that, as the consumer, got a DENY or an
  admission whose status was DEMOTED or REVOKED towards a target that never misbehaves either
  (not a malicious kind), so the refusal had no cause at either end; also split into refused
  (a DENY) and demoted (the status). A demotion of an honest tenant's connection to an attacker's
  service is the attacker's, not a false positive;
* honest fast-path share — DIRECT share of interactions between two honest tenants, per epoch,
  and over the last quarter of the epochs (steady state);
* time to trust — per honest pair, epochs from its first interaction to its first DIRECT one;
* provider reliance — share of new connections (introductions) the provider made, per epoch;
* messages per introduction — protocol messages of admissions that made a new connection;
* cost saved — 1 − security-stack cost / the cost had every admitted-or-not interaction been
  inspected (the all-inspected cloud on the same traffic).

Invariants: recording is O(1) per interaction; ``finish`` depends only on what was recorded, in
the order it was recorded, so equal inputs give bit-identical metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from jobber.sim.stats import Value, quantile, ratio
from jobber.trust.models.base import Admission
from jobber.types import Decision, Status, TenantId

SERIES = ("honest_fast_path", "attacks_delivered", "attacks_direct", "provider_share",
          "new_connections", "interactions")
SCALARS = (
    "interactions", "malicious_interactions", "attack_share_direct", "attack_share_delivered",
    "free_attacks_per_flip", "isolation_link_median", "isolation_link_p95",
    "isolation_attacker_median", "isolation_attacker_p95", "honest_false_positives",
    "honest_refused", "honest_demoted",
    "honest_fast_path_steady", "honest_time_to_trust_median", "provider_share",
    "messages_per_introduction", "cost_saved", "added_latency_ms",
)


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """Every metric of one (seed, model) run."""

    model: str
    seed: int
    scalars: dict[str, Value]
    series: dict[str, tuple[Value, ...]]
    link_isolation: tuple[float, ...]  # per victim link, inf when never isolated (for the CDF)


@dataclass(slots=True)
class _Link:
    was_direct: bool = False
    flips: int = 0
    direct_attacks: int = 0
    first_attack: int | None = None
    isolated: int | None = None


@dataclass(slots=True)
class _Epoch:
    interactions: int = 0
    honest: int = 0
    honest_direct: int = 0
    attacks_delivered: int = 0
    attacks_direct: int = 0
    new: int = 0
    new_by_provider: int = 0


@dataclass(slots=True)
class Recorder:
    """Counts what one run did; feed it with ``record`` in play order, then ``finish``."""

    epochs: int
    honest: frozenset[TenantId]
    cost_per_flow: float = 1.0
    cost_per_byte: float = 0.0
    latency_ms: float = 0.0
    _epochs: list[_Epoch] = field(default_factory=list)
    _links: dict[tuple[TenantId, TenantId], _Link] = field(default_factory=dict)
    _first_attack: dict[TenantId, int] = field(default_factory=dict)
    _last_direct: dict[TenantId, int] = field(default_factory=dict)
    _pairs: dict[tuple[TenantId, TenantId], list[float]] = field(default_factory=dict)
    _refused: set[TenantId] = field(default_factory=set)
    _demoted: set[TenantId] = field(default_factory=set)
    malicious: int = 0
    malicious_direct: int = 0
    malicious_delivered: int = 0
    messages: int = 0
    cost: float = 0.0
    cost_all: float = 0.0
    admitted: int = 0
    inspected: int = 0

    def __post_init__(self) -> None:
        self._epochs = [_Epoch() for _ in range(self.epochs)]

    def record(
        self,
        epoch: int,
        src: TenantId,
        dst: TenantId,
        admission: Admission,
        *,
        malicious_src: bool,
        malicious_dst: bool = False,
        attack: bool,
        delivered: bool,
        size: float,
    ) -> None:
        """One interaction ``src`` opened towards ``dst`` in ``epoch`` and what became of it."""
        ep = self._epochs[epoch]
        ep.interactions += 1
        decision = admission.decision
        direct = decision is Decision.DIRECT
        flow_cost = self.cost_per_flow + self.cost_per_byte * size
        self.cost_all += flow_cost
        if decision is not Decision.DENY:
            self.admitted += 1
        if decision is Decision.INSPECT:
            self.cost += flow_cost
            self.inspected += 1
        if admission.new_connection:
            ep.new += 1
            self.messages += admission.messages
            if admission.by_provider:
                ep.new_by_provider += 1
        if malicious_src:
            self._record_link(epoch, src, dst, direct, attack)
        if attack:
            self.malicious += 1
            if direct:
                self.malicious_direct += 1
                ep.attacks_direct += 1
            if delivered:
                self.malicious_delivered += 1
                ep.attacks_delivered += 1
        if src in self.honest and not malicious_dst:
            if decision is Decision.DENY:
                self._refused.add(src)
            if admission.status in (Status.DEMOTED, Status.REVOKED):
                self._demoted.add(src)
            if dst in self.honest:
                ep.honest += 1
                pair = self._pairs.get((src, dst))
                if pair is None:
                    pair = self._pairs[(src, dst)] = [float(epoch), math.inf]
                if direct:
                    ep.honest_direct += 1
                    if pair[1] == math.inf:
                        pair[1] = float(epoch)

    def _record_link(self, epoch: int, src: TenantId, dst: TenantId, direct: bool,
                     attack: bool) -> None:
        link = self._links.get((src, dst))
        if link is None:
            link = self._links[(src, dst)] = _Link()
        if direct and not link.was_direct:
            link.flips += 1
        link.was_direct = direct
        if direct:
            self._last_direct[src] = epoch
        if attack:
            if direct:
                link.direct_attacks += 1
            if link.first_attack is None:
                link.first_attack = epoch
            self._first_attack.setdefault(src, epoch)
        if link.first_attack is not None and link.isolated is None and not direct:
            link.isolated = epoch

    def finish(self, model: str, seed: int) -> RunMetrics:
        attacked = [link for link in self._links.values() if link.first_attack is not None]
        link_times = tuple(
            math.inf if link.isolated is None else float(link.isolated - (link.first_attack or 0))
            for link in attacked
        )
        attacker_times = [self._attacker_isolation(a, first)
                          for a, first in self._first_attack.items()]
        flips = sum(link.flips for link in attacked)
        free = sum(link.direct_attacks for link in attacked)
        tail = self._epochs[self.epochs - max(self.epochs // 4, 1):]
        interactions = sum(e.interactions for e in self._epochs)
        new = sum(e.new for e in self._epochs)
        scalars: dict[str, Value] = {
            "interactions": float(interactions),
            "malicious_interactions": float(self.malicious),
            "attack_share_direct": ratio(self.malicious_direct, self.malicious),
            "attack_share_delivered": ratio(self.malicious_delivered, self.malicious),
            "free_attacks_per_flip": free / flips if flips else 0.0,
            "isolation_link_median": quantile(link_times, 0.5),
            "isolation_link_p95": quantile(link_times, 0.95),
            "isolation_attacker_median": quantile(attacker_times, 0.5),
            "isolation_attacker_p95": quantile(attacker_times, 0.95),
            "honest_false_positives": ratio(len(self._refused | self._demoted), len(self.honest)),
            "honest_refused": ratio(len(self._refused), len(self.honest)),
            "honest_demoted": ratio(len(self._demoted), len(self.honest)),
            "honest_fast_path_steady": ratio(sum(e.honest_direct for e in tail),
                                             sum(e.honest for e in tail)),
            "honest_time_to_trust_median": quantile(
                (p[1] - p[0] for p in self._pairs.values()), 0.5),
            "provider_share": ratio(sum(e.new_by_provider for e in self._epochs), new),
            "messages_per_introduction": ratio(self.messages, new),
            "cost_saved": None if not self.cost_all else 1.0 - self.cost / self.cost_all,
            "added_latency_ms": ratio(self.inspected * self.latency_ms, self.admitted),
        }
        series: dict[str, tuple[Value, ...]] = {
            "honest_fast_path": tuple(ratio(e.honest_direct, e.honest) for e in self._epochs),
            "attacks_delivered": tuple(float(e.attacks_delivered) for e in self._epochs),
            "attacks_direct": tuple(float(e.attacks_direct) for e in self._epochs),
            "provider_share": tuple(ratio(e.new_by_provider, e.new) for e in self._epochs),
            "new_connections": tuple(float(e.new) for e in self._epochs),
            "interactions": tuple(float(e.interactions) for e in self._epochs),
        }
        return RunMetrics(model, seed, scalars, series, link_times)

    def _attacker_isolation(self, attacker: TenantId, first: int) -> float:
        last = self._last_direct.get(attacker)
        if last is None or last < first:
            return 0.0
        if last >= self.epochs - 1:
            return math.inf
        return float(last + 1 - first)
