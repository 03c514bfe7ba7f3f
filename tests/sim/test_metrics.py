"""Each metric on a tiny hand-computed run, fed straight into the recorder; and the statistics."""

from __future__ import annotations

import math

import pytest

from jobber.sim.metrics import Recorder
from jobber.sim.runner import Simulation
from jobber.sim.scenario import Behaviour, Kind, SecurityStack
from jobber.sim.stats import quantile, summarize, t975
from jobber.trust.models.base import Admission
from jobber.types import Decision, Status, TenantId
from tests.sim.simkit import FakeModel, tiny

A, H1, H2 = TenantId("a"), TenantId("h1"), TenantId("h2")
DIRECT = Admission(Decision.DIRECT, status=Status.TRUSTED)
INSPECT = Admission(Decision.INSPECT, status=Status.PROBATION)


def _hand_run() -> dict[str, float | None]:
    r = Recorder(epochs=4, honest=frozenset({H1, H2}), cost_per_flow=1.0, cost_per_byte=0.01,
                 latency_ms=2.0)

    def rec(epoch: int, src: TenantId, dst: TenantId, adm: Admission, attack: bool = False,
            delivered: bool = False) -> None:
        r.record(epoch, src, dst, adm, malicious_src=src == A, attack=attack,
                 delivered=delivered, size=100.0)

    rec(0, A, H1, INSPECT, attack=True)  # caught by the stack: isolated at once
    rec(0, H1, H2, Admission(Decision.INSPECT, new_connection=True, by_provider=True, messages=4))
    rec(1, A, H2, DIRECT)  # a camouflaged good act: the link flips to DIRECT
    rec(1, H1, H2, DIRECT)  # the honest pair is trusted one epoch after it met
    rec(2, A, H2, DIRECT, attack=True, delivered=True)  # a free attack
    rec(2, H2, H1, Admission(Decision.INSPECT, new_connection=True, messages=6))
    rec(3, A, H2, INSPECT, attack=True, delivered=True)  # missed by the stack; link isolated
    rec(3, H1, H2, Admission(Decision.DENY))  # refused without cause
    rec(3, H2, H1, Admission(Decision.INSPECT, status=Status.DEMOTED))  # demoted without cause
    return r.finish("hand", 0).scalars


def test_counts_and_attack_shares() -> None:
    m = _hand_run()
    assert m["interactions"] == 9
    assert m["malicious_interactions"] == 3
    assert m["attack_share_direct"] == pytest.approx(1 / 3)
    assert m["attack_share_delivered"] == pytest.approx(2 / 3)


def test_free_attacks_per_flip() -> None:
    assert _hand_run()["free_attacks_per_flip"] == 1.0


def test_time_to_isolation_per_link_and_per_attacker() -> None:
    m = _hand_run()
    assert m["isolation_link_median"] == 0.5  # links isolated after 0 and 1 epochs
    assert m["isolation_link_p95"] == pytest.approx(0.95)
    assert m["isolation_attacker_median"] == 3.0  # first attack 0, last DIRECT in epoch 2


def test_honest_false_positives() -> None:
    m = _hand_run()
    assert (m["honest_false_positives"], m["honest_refused"], m["honest_demoted"]) == (1, .5, .5)


def test_fast_path_trust_time_introductions_and_cost() -> None:
    m = _hand_run()
    assert m["honest_fast_path_steady"] == 0.0  # the last quarter is epoch 3: 0 of 2
    assert m["honest_time_to_trust_median"] == math.inf  # pairs: 1 epoch, never
    assert m["provider_share"] == 0.5
    assert m["messages_per_introduction"] == 5.0
    assert m["cost_saved"] == pytest.approx(1 - 5 * 2.0 / (9 * 2.0))
    assert m["added_latency_ms"] == pytest.approx(5 * 2.0 / 8)


def test_series_per_epoch() -> None:
    r = Recorder(epochs=3, honest=frozenset({H1, H2}))
    r.record(0, H1, H2, INSPECT, malicious_src=False, attack=False, delivered=False, size=1.0)
    r.record(1, H1, H2, DIRECT, malicious_src=False, attack=False, delivered=False, size=1.0)
    r.record(1, A, H1, DIRECT, malicious_src=True, attack=True, delivered=True, size=1.0)
    series = r.finish("x", 0).series
    assert series["honest_fast_path"] == (0.0, 1.0, None)
    assert series["attacks_delivered"] == (0.0, 1.0, 0.0)
    assert series["interactions"] == (1.0, 2.0, 0.0)


def test_a_demotion_towards_an_attacker_is_not_a_false_positive() -> None:
    r = Recorder(epochs=1, honest=frozenset({H1}))
    r.record(0, H1, A, Admission(Decision.DENY), malicious_src=False, malicious_dst=True,
             attack=False, delivered=False, size=1.0)
    assert r.finish("x", 0).scalars["honest_false_positives"] == 0.0


def test_metrics_through_the_simulator_with_a_scripted_model() -> None:
    # The attacker is always DIRECT, everyone else always INSPECT: every attack is free, one
    # flip per victim link, nothing is ever isolated, and honest traffic never takes the fast path.
    scenario = tiny(Behaviour(Kind.ATTACKER, 1), stack=SecurityStack(catch_rate=1.0))
    probe = Simulation(scenario, 0, FakeModel())
    (attacker,) = [a.name for a in probe.actors if a.kind is Kind.ATTACKER]
    model = FakeModel(lambda s, d, n: Decision.DIRECT if s == attacker else Decision.INSPECT)
    m = Simulation(scenario, 0, model).run().scalars
    links = len(probe.traffic.services_of(probe.actors[0].index))
    assert m["attack_share_direct"] == m["attack_share_delivered"] == 1.0
    assert m["malicious_interactions"] == scenario.epochs * scenario.traffic.sessions_per_epoch
    assert m["free_attacks_per_flip"] is not None and m["free_attacks_per_flip"] >= 1.0
    assert links == 3
    assert m["isolation_attacker_median"] == math.inf
    assert m["honest_fast_path_steady"] == 0.0
    assert m["cost_saved"] is not None and 0.0 < m["cost_saved"] < 1.0


def test_student_t_interval() -> None:
    s = summarize([1.0, 2.0, 3.0])
    assert s.mean == 2.0
    assert s.ci_high == pytest.approx(2.0 + 4.303 / math.sqrt(3))
    assert s.ci_low == pytest.approx(2.0 - 4.303 / math.sqrt(3))
    assert summarize([5.0]).ci_low == summarize([5.0]).ci_high == 5.0
    assert summarize([None, 2.0, 4.0]).mean == 3.0
    assert summarize([None, None]).mean is None
    assert summarize([1.0, math.inf]).mean == math.inf
    assert t975(1) == 12.706 and t975(30) == 2.042 and t975(1000) == 1.96


def test_quantiles_with_censoring() -> None:
    assert quantile([], 0.5) is None
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([0.0, 10.0], 0.95) == pytest.approx(9.5)
    assert quantile([1.0, math.inf, math.inf], 0.5) == math.inf
    assert quantile([1.0, 2.0, math.inf], 0.5) == 2.0
