"""Traffic comes from the seed alone: the same sessions for every model, Zipf-skewed."""

from __future__ import annotations

from collections import Counter

from jobber.sim.behaviour import populate
from jobber.sim.scenario import Behaviour, Kind, Sensors, Traffic
from jobber.sim.traffic import Session, TrafficModel, outcome, pick
from jobber.types import Decision, Severity
from tests.sim.simkit import tiny


def _traffic(seed: int, tenants: int = 30, zipf: float = 1.0) -> TrafficModel:
    scenario = tiny(Behaviour(Kind.CAMOUFLAGE, 5, f=0.5), tenants=tenants,
                    traffic=Traffic(services_per_tenant=4, zipf_exponent=zipf,
                                    sessions_per_epoch=3))
    return TrafficModel(scenario, populate(scenario, seed), seed)


def test_same_seed_same_sessions_other_seed_other_sessions() -> None:
    assert _traffic(1).sessions(4) == _traffic(1).sessions(4)
    assert _traffic(1).sessions(4) != _traffic(2).sessions(4)


def test_an_epoch_does_not_depend_on_which_epochs_were_generated_before() -> None:
    fresh = _traffic(5)
    used = _traffic(5)
    used.sessions(0)
    used.sessions(1)
    assert used.sessions(2) == fresh.sessions(2) == fresh.sessions(2)
    assert len(fresh.sessions(0)) == 90
    assert fresh.sessions(2) != fresh.sessions(3)


def test_popularity_is_skewed() -> None:
    model = _traffic(3, tenants=200, zipf=1.2)
    calls = Counter(s.dst for e in range(10) for s in model.sessions(e))
    top = max(model.popularity, key=model.popularity.__getitem__)
    assert calls[top] == max(calls.values())
    ranked = sorted(calls.values(), reverse=True)
    assert sum(ranked[:20]) > 0.5 * sum(ranked)  # the top 10% of services take most calls


def test_nobody_calls_itself_and_services_are_distinct() -> None:
    model = _traffic(0)
    for e in range(5):
        assert all(s.src != s.dst for s in model.sessions(e))
    for i in range(30):
        uses = model.services_of(i)
        assert len(set(uses)) == len(uses) == 4 and i not in uses


def _session(attack: bool, catch: float = 0.5, detect: float = 0.5, alarm: float = 0.5) -> Session:
    return Session(0, 1, attack, catch, detect, 0.2, alarm, alarm, 10.0)


def test_ground_truth_of_the_stack_and_the_sensors() -> None:
    sensors = Sensors(false_positive_rate=0.1, false_negative_rate=0.3)
    mix = ((Severity.MED, 0.5), (Severity.HIGH, 0.5))
    caught = outcome(_session(True, catch=0.1), Decision.INSPECT, mix, sensors, 0.9)
    assert (caught.delivered, caught.dst_verdict) == (False, Severity.MED)
    missed = outcome(_session(True, catch=0.95, detect=0.1), Decision.INSPECT, mix, sensors, 0.9)
    assert (missed.delivered, missed.dst_verdict) == (True, Severity.POS)  # a false negative
    direct = outcome(_session(True, catch=0.1), Decision.DIRECT, mix, sensors, 0.9)
    assert (direct.delivered, direct.inspected, direct.dst_verdict) == (True, False, Severity.MED)
    denied = outcome(_session(True), Decision.DENY, mix, sensors, 0.9)
    assert not denied.delivered
    alarm = outcome(_session(False, alarm=0.05), Decision.DIRECT, mix, sensors, 0.9)
    assert (alarm.dst_verdict, alarm.src_verdict) == (Severity.LOW, Severity.LOW)
    clean = outcome(_session(False), Decision.DIRECT, mix, sensors, 0.9)
    assert (clean.delivered, clean.dst_verdict) == (False, Severity.POS)
    assert pick(mix, 0.49) is Severity.MED and pick(mix, 0.51) is Severity.HIGH
