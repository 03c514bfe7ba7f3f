"""The simulated data center's traffic, and what the security stack and the sensors see of it.

Who calls whom is a service/consumer graph: every tenant offers a service, services have Zipf
popularity (rank r weighs 1/r^s, ranks shuffled per seed), and every consumer uses
``services_per_tenant`` distinct services drawn by popularity; colluders also call the peers of
their ring. Each epoch every present tenant opens ``sessions_per_epoch`` sessions, each to one of
its services drawn by popularity; the epoch's sessions are then shuffled.

A ``Session`` carries every random number its outcome needs (drawn when it is generated): whether
it is an attack, whether the security stack would catch it, what the sensors at each end would
report. ``outcome`` turns a session plus the model's decision into what was delivered and the
truthful verdict of each endpoint.

Invariants: sessions are generated from the seed alone — each tenant draws from its own
``random.Random(f"{seed}:tenant:{i}:{epoch}")`` — so every trust model sees the same sessions
with the same intentions in the same order, and ``sessions(epoch)`` is a pure function of the
seed and the epoch (any epoch can be generated on its own); the cost of an epoch is linear in
its sessions.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from itertools import accumulate

from jobber.sim.behaviour import NO_RING, Actor, intends_attack
from jobber.sim.scenario import Mix, Scenario, Sensors
from jobber.types import Decision, Severity


@dataclass(frozen=True, slots=True)
class Session:
    """One interaction a consumer (``src``) opens towards a service (``dst``); actor indices."""

    src: int
    dst: int
    attack: bool
    catch: float  # the stack catches an inspected attack iff catch < catch_rate
    detect: float  # the target's sensors see an attack iff detect ≥ false_negative_rate
    severity: float  # picks a severity from the mix
    alarm_dst: float  # a false alarm at the target iff alarm_dst < false_positive_rate
    alarm_src: float  # ... and at the consumer
    size: float  # bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one admitted-or-not session did."""

    delivered: bool  # an attack reached its target (always false for clean sessions)
    inspected: bool  # the flow crossed the security stack
    dst_verdict: Severity  # truthful verdict of the target about the consumer
    src_verdict: Severity  # truthful verdict of the consumer about the target


def pick(mix: Mix, u: float) -> Severity:
    """The severity a uniform ``u`` selects from ``mix``."""
    acc = 0.0
    for severity, p in mix:
        acc += p
        if u < acc:
            return severity
    return mix[-1][0]


def outcome(session: Session, decision: Decision, attack_mix: Mix, sensors: Sensors,
            catch_rate: float) -> Outcome:
    """Ground truth for ``session`` under ``decision``.

    An attack the stack catches is always reported (the stack's alert is a sensor too); one it
    lets through is seen with probability ``1 − false_negative_rate``.
    """
    inspected = decision is Decision.INSPECT
    if decision is Decision.DENY:
        return Outcome(False, False, Severity.POS, Severity.POS)
    if session.attack:
        caught = inspected and session.catch < catch_rate
        seen = caught or session.detect >= sensors.false_negative_rate
        verdict = pick(attack_mix, session.severity) if seen else Severity.POS
        delivered = not caught
    else:
        delivered = False
        if session.alarm_dst < sensors.false_positive_rate:
            verdict = pick(sensors.false_positive_severity, session.severity)
        else:
            verdict = Severity.POS
    if session.alarm_src < sensors.false_positive_rate:
        src_verdict = pick(sensors.false_positive_severity, session.severity)
    else:
        src_verdict = Severity.POS
    return Outcome(delivered, inspected, verdict, src_verdict)


class TrafficModel:
    """The graph of one seed, and the sessions of each epoch."""

    def __init__(self, scenario: Scenario, actors: tuple[Actor, ...], seed: int) -> None:
        self.actors = actors
        self.sessions_per_epoch = scenario.traffic.sessions_per_epoch
        self.bytes_mean = scenario.traffic.bytes_mean
        graph = random.Random(f"{seed}:graph")
        services = [a.index for a in actors if a.joins_at == 0]
        ranks = list(services)
        graph.shuffle(ranks)
        s = scenario.traffic.zipf_exponent
        self.popularity = {svc: 1.0 / (rank + 1) ** s for rank, svc in enumerate(ranks)}
        all_cum = list(accumulate(self.popularity[svc] for svc in services))
        self._uses: list[list[int]] = []
        self._cum: list[list[float]] = []
        self._peers: list[list[int]] = []
        rings: dict[int, list[int]] = {}
        for a in actors:
            if a.ring != NO_RING:
                rings.setdefault(a.ring, []).append(a.index)
        want = min(scenario.traffic.services_per_tenant, len(services) - 1)
        for a in actors:
            chosen: list[int] = []
            seen: set[int] = {a.index}
            while len(chosen) < want:
                at = bisect.bisect_right(all_cum, graph.random() * all_cum[-1])
                svc = services[min(at, len(services) - 1)]
                if svc not in seen:
                    seen.add(svc)
                    chosen.append(svc)
            self._uses.append(chosen)
            self._cum.append(list(accumulate(self.popularity[svc] for svc in chosen)))
            peers = [i for i in rings.get(a.ring, []) if i != a.index and actors[i].joins_at == 0]
            self._peers.append(peers)
        self._seed = seed

    def services_of(self, index: int) -> list[int]:
        """The services actor ``index`` consumes (its ring peers aside)."""
        return list(self._uses[index])

    def sessions(self, epoch: int) -> list[Session]:
        """The sessions opened in ``epoch``, in the order the simulator plays them."""
        out: list[Session] = []
        actors = self.actors
        for a in actors:
            if a.joins_at > epoch:
                continue
            rng = random.Random(f"{self._seed}:tenant:{a.index}:{epoch}")
            uses, cum, peers = self._uses[a.index], self._cum[a.index], self._peers[a.index]
            ring_share = a.behaviour.ring_share if peers else 0.0
            for _ in range(self.sessions_per_epoch):
                u_target = rng.random()
                u_ring = rng.random()
                if u_ring < ring_share:
                    dst = peers[int(u_target * len(peers))]
                elif uses:
                    dst = uses[min(bisect.bisect_right(cum, u_target * cum[-1]), len(uses) - 1)]
                else:
                    continue
                attack = intends_attack(a, actors[dst], epoch, rng.random())
                out.append(Session(
                    a.index, dst, attack, rng.random(), rng.random(), rng.random(),
                    rng.random(), rng.random(), rng.expovariate(1.0 / self.bytes_mean),
                ))
        random.Random(f"{self._seed}:order:{epoch}").shuffle(out)
        return out
