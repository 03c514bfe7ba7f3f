"""One simulation run: a scenario's traffic for one seed, played against one trust model.

Each epoch: the tenants that arrive join the model (with their own policy overrides), the model
``tick``s, then every session of the epoch is played in order — the model admits it, the ground
truth (``traffic.outcome``) says what was delivered and what each endpoint's sensors saw, and both
endpoints give their feedback (``behaviour.rate``) unless the interaction was denied. A
whitewasher that is denied or revoked rejoins under a new id at once (at most once per epoch);
its new id is a stranger to the model.

Invariants: the model is the only thing that decides; the simulator never second-guesses an
``Admission``. Everything random was drawn by ``TrafficModel`` from the seed, so a run is a pure
function of (scenario, seed, model) and cost is linear in the number of interactions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from jobber.sim.behaviour import Actor, populate, rate
from jobber.sim.metrics import Recorder, RunMetrics
from jobber.sim.scenario import Scenario
from jobber.sim.traffic import Session, TrafficModel, outcome
from jobber.trust.models import build
from jobber.trust.models.base import Admission, TrustModel
from jobber.types import Decision, InteractionId, Rng, Status, TenantId


@dataclass(frozen=True, slots=True)
class Trace:
    """One played interaction, for tests and debugging (``Simulation(trace=[])``)."""

    epoch: int
    src: TenantId
    dst: TenantId
    attack: bool
    delivered: bool
    admission: Admission


@dataclass(frozen=True, slots=True)
class Join:
    """A tenant identity joining the model."""

    epoch: int
    actor: int
    tenant: TenantId


class Simulation:
    """Plays one seed of a scenario against one model."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        model: TrustModel,
        *,
        trace: list[Trace] | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.model = model
        self.actors: tuple[Actor, ...] = populate(scenario, seed)
        self.traffic = TrafficModel(scenario, self.actors, seed)
        self.identity: list[TenantId] = [a.name for a in self.actors]
        self.joins: list[Join] = []
        self.trace = trace
        self._rejoined: list[int] = [-1] * len(self.actors)
        self._generation: list[int] = [0] * len(self.actors)
        self._mixes = [scenario.sensors.mix(a.behaviour.attack) for a in self.actors]
        stack = scenario.stack
        self.recorder = Recorder(
            epochs=scenario.epochs,
            honest=frozenset(a.name for a in self.actors if a.is_honest),
            cost_per_flow=stack.cost_per_flow,
            cost_per_byte=stack.cost_per_byte,
            latency_ms=stack.latency_ms,
        )

    def run(self) -> RunMetrics:
        for epoch in range(self.scenario.epochs):
            self.play_epoch(epoch)
        return self.recorder.finish(self.model.name, self.seed)

    def play_epoch(self, epoch: int) -> None:
        now = float(epoch)
        for actor in self.actors:
            if actor.joins_at == epoch:
                self._join(actor, epoch)
        self.model.tick(now)
        for number, session in enumerate(self.traffic.sessions(epoch)):
            self._play(epoch, number, session)

    def _join(self, actor: Actor, epoch: int) -> None:
        tenant = self.identity[actor.index]
        self.model.join(tenant, float(epoch), actor.behaviour.policy_overrides() or None)
        self.joins.append(Join(epoch, actor.index, tenant))

    def _play(self, epoch: int, number: int, session: Session) -> None:
        now = float(epoch)
        src_actor, dst_actor = self.actors[session.src], self.actors[session.dst]
        src, dst = self.identity[session.src], self.identity[session.dst]
        admission = self.model.admit(src, dst, now)
        result = outcome(session, admission.decision, self._mixes[session.src],
                         self.scenario.sensors, self.scenario.stack.catch_rate)
        self.recorder.record(
            epoch, src, dst, admission,
            malicious_src=src_actor.is_malicious, malicious_dst=dst_actor.is_malicious,
            attack=session.attack,
            delivered=result.delivered, size=session.size,
        )
        if self.trace is not None:
            self.trace.append(Trace(epoch, src, dst, session.attack, result.delivered, admission))
        if admission.decision is not Decision.DENY:
            interaction = InteractionId(f"{epoch}.{number}")
            verdict = rate(dst_actor, src_actor, result.dst_verdict)
            if verdict is not None:
                self.model.feedback(dst, src, admission, interaction, verdict, now)
            verdict = rate(src_actor, dst_actor, result.src_verdict)
            if verdict is not None:
                self.model.feedback(src, dst, admission, interaction, verdict, now)
        refused = admission.decision is Decision.DENY or admission.status is Status.REVOKED
        if refused and src_actor.rejoins and self._rejoined[session.src] < epoch:
            self._rejoined[session.src] = epoch
            self._whitewash(src_actor, epoch)

    def _whitewash(self, actor: Actor, epoch: int) -> None:
        self._generation[actor.index] += 1
        self.identity[actor.index] = TenantId(f"{actor.name}~{self._generation[actor.index]}")
        self._join(actor, epoch)


ModelBuilder = Callable[[str, Rng], TrustModel]


def model_rng(seed: int, model: str) -> random.Random:
    """The model's own randomness: from the seed, never shared with the traffic."""
    return random.Random(f"{seed}:model:{model}")


def run_one(scenario: Scenario, seed: int, model: str, builder: ModelBuilder = build) -> RunMetrics:
    """Play ``scenario`` for ``seed`` against a fresh ``model`` (a registry name)."""
    return Simulation(scenario, seed, builder(model, model_rng(seed, model))).run()
