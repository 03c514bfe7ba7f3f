"""Every behaviour does what it says, seen through what the simulator actually plays."""

from __future__ import annotations

from collections import Counter

from jobber.sim.behaviour import Actor, intends_attack, populate, rate
from jobber.sim.runner import Simulation, Trace
from jobber.sim.scenario import Behaviour, Kind
from jobber.trust.models.baselines import DirectExperience
from jobber.types import Decision, Severity, TenantId
from tests.sim.simkit import FakeModel, tiny


def _play(*behaviours: Behaviour, model: FakeModel | None = None, epochs: int = 12,
          tenants: int = 10) -> tuple[Simulation, list[Trace]]:
    trace: list[Trace] = []
    sim = Simulation(tiny(*behaviours, epochs=epochs, tenants=tenants), 3, model or FakeModel(),
                     trace=trace)
    sim.run()
    return sim, trace


def _names(sim: Simulation, kind: Kind) -> set[TenantId]:
    return {a.name for a in sim.actors if a.kind is kind}


def test_population_follows_the_mix_and_changes_with_the_seed() -> None:
    scenario = tiny(Behaviour(Kind.ATTACKER, 2), Behaviour(Kind.SLANDERER, 1),
                    Behaviour(Kind.SYBIL, 4, at=3))
    actors = populate(scenario, 1)
    counts = Counter(a.kind for a in actors)
    assert counts == {Kind.HONEST: 7, Kind.ATTACKER: 2, Kind.SLANDERER: 1, Kind.SYBIL: 4}
    assert [a.joins_at for a in actors if a.kind is Kind.SYBIL] == [3, 3, 3, 3]
    assert populate(scenario, 1) == actors
    attackers = {a.index for a in actors if a.kind is Kind.ATTACKER}
    others = [{a.index for a in populate(scenario, s) if a.kind is Kind.ATTACKER}
              for s in range(2, 8)]
    assert any(o != attackers for o in others)


def test_honest_tenants_never_attack() -> None:
    _, trace = _play()
    assert trace and not any(t.attack for t in trace)


def test_a_traitors_first_bad_act_comes_at_turn_at() -> None:
    sim, trace = _play(Behaviour(Kind.TRAITOR, 2, turn_at=5))
    traitors = _names(sim, Kind.TRAITOR)
    mine = [t for t in trace if t.src in traitors]
    assert min(t.epoch for t in mine if t.attack) == 5
    assert all(t.attack == (t.epoch >= 5) for t in mine)
    assert not any(t.attack for t in trace if t.src not in traitors)


def test_an_oscillator_is_bad_for_bad_for_epochs_of_every_period() -> None:
    sim, trace = _play(Behaviour(Kind.OSCILLATOR, 1, period=4, bad_for=1), epochs=16)
    bad_epochs = sorted({t.epoch for t in trace if t.attack})
    assert bad_epochs == [3, 7, 11, 15]
    osc = _names(sim, Kind.OSCILLATOR)
    assert all(t.attack for t in trace if t.src in osc and t.epoch % 4 == 3)


def test_camouflage_attacks_with_probability_f() -> None:
    sim, trace = _play(Behaviour(Kind.CAMOUFLAGE, 2, f=0.3), epochs=200)
    mine = [t.attack for t in trace if t.src in _names(sim, Kind.CAMOUFLAGE)]
    assert 0.25 < sum(mine) / len(mine) < 0.35


def test_colluders_call_and_praise_their_ring_and_attack_outsiders() -> None:
    model = FakeModel()
    sim, trace = _play(Behaviour(Kind.COLLUDER, 4, ring_share=0.5, f=1.0), model=model,
                       epochs=20, tenants=20)
    ring = _names(sim, Kind.COLLUDER)
    inside = [t for t in trace if t.src in ring and t.dst in ring]
    outside = [t for t in trace if t.src in ring and t.dst not in ring]
    assert inside and outside
    assert not any(t.attack for t in inside)
    assert all(t.attack for t in outside)
    assert all(sev is Severity.POS for r, s, sev, _ in model.feedbacks if r in ring and s in ring)


def test_feedback_rules_of_slanderers_colluders_and_silent_tenants() -> None:
    honest = Actor(0, TenantId("a"), Behaviour(Kind.HONEST, 1))
    slanderer = Actor(1, TenantId("b"), Behaviour(Kind.SLANDERER, 1, slander=Severity.HIGH))
    silent = Actor(2, TenantId("c"), Behaviour(Kind.NONCOMPLIANT, 1, mode="silent"))
    ring1 = Actor(3, TenantId("d"), Behaviour(Kind.COLLUDER, 2), ring=5)
    ring2 = Actor(4, TenantId("e"), Behaviour(Kind.COLLUDER, 2), ring=5)
    assert rate(honest, slanderer, Severity.POS) is Severity.POS
    assert rate(slanderer, honest, Severity.POS) is Severity.HIGH
    assert rate(slanderer, honest, Severity.MED) is Severity.MED
    assert rate(silent, honest, Severity.HIGH) is None
    assert rate(ring1, ring2, Severity.HIGH) is Severity.POS
    assert rate(ring1, honest, Severity.MED) is Severity.MED
    assert not intends_attack(ring1, ring2, 0, 0.0)
    assert intends_attack(ring1, honest, 0, 0.0)


def test_a_slanderer_reports_its_honest_peers_negatively() -> None:
    model = FakeModel()
    sim, _ = _play(Behaviour(Kind.SLANDERER, 2, slander=Severity.MED), model=model)
    slanderers = _names(sim, Kind.SLANDERER)
    theirs = [sev for r, _, sev, _ in model.feedbacks if r in slanderers]
    assert theirs and all(sev is Severity.MED for sev in theirs)
    others = [sev for r, _, sev, _ in model.feedbacks if r not in slanderers]
    assert others and all(sev is Severity.POS for sev in others)


def test_noncompliant_tenants_join_with_their_overrides_and_silent_ones_say_nothing() -> None:
    model = FakeModel()
    sim, _ = _play(Behaviour(Kind.NONCOMPLIANT, 1, mode="introduce_all"),
                   Behaviour(Kind.NONCOMPLIANT, 1, mode="silent"), model=model)
    overrides = {t: o for t, _, o in model.joined}
    by_mode = {a.behaviour.mode: a.name for a in sim.actors if a.kind is Kind.NONCOMPLIANT}
    assert overrides[by_mode["introduce_all"]] == {"theta_intro": 0.0, "n_intro": 0}
    assert overrides[by_mode["silent"]] is None
    assert not any(r == by_mode["silent"] for r, *_ in model.feedbacks)


def test_sybils_appear_at_their_epoch_and_attack() -> None:
    model = FakeModel()
    sim, trace = _play(Behaviour(Kind.SYBIL, 3, at=6), model=model)
    sybils = _names(sim, Kind.SYBIL)
    assert sorted(now for t, now, _ in model.joined if t in sybils) == [6.0, 6.0, 6.0]
    assert all(now == 0.0 for t, now, _ in model.joined if t not in sybils)
    mine = [t for t in trace if t.src in sybils]
    assert min(t.epoch for t in mine) == 6
    assert all(t.attack for t in mine)


def test_a_whitewasher_rejoins_under_a_new_id_that_starts_as_a_newcomer() -> None:
    model = DirectExperience()
    trace: list[Trace] = []
    sim = Simulation(tiny(Behaviour(Kind.WHITEWASHER, 1), epochs=15), 4, model, trace=trace)
    sim.run()
    (washer,) = [a for a in sim.actors if a.kind is Kind.WHITEWASHER]
    ids = [t.src for t in trace if t.src.startswith(washer.name)]
    assert ids[0] == washer.name
    new_ids = list(dict.fromkeys(i for i in ids if i != washer.name))
    assert new_ids[:2] == [TenantId(f"{washer.name}~1"), TenantId(f"{washer.name}~2")]
    for new in new_ids:
        # Its last act under the old id was refused; its first under the new one is not.
        first = next(t for t in trace if t.src == new)
        assert first.admission.decision is Decision.INSPECT
        assert first.admission.reason == "own view: stranger"
    refused = [t for t in trace if t.src == washer.name and t.admission.decision is Decision.DENY]
    assert refused and refused[0].epoch <= next(t.epoch for t in trace if t.src == new_ids[0])
    assert [j.tenant for j in sim.joins if j.actor == washer.index][:2] == [washer.name, new_ids[0]]
