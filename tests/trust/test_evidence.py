"""Evidence: bounds, decay, the cap, opinions, discounting and fusion."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobber.trust.evidence import VACUOUS, Evidence, Opinion, discount, discount_chain, fuse
from jobber.trust.policy import DEFAULT_POLICY as P

steps = st.lists(
    st.tuples(st.booleans(), st.floats(0.0, 200.0), st.floats(0.0, 500.0)), max_size=40
)


@given(steps)
def test_every_score_stays_in_unit_interval(ops: list[tuple[bool, float, float]]) -> None:
    e = Evidence()
    now = 0.0
    for positive, weight, dt in ops:
        now += dt
        e.add(positive, weight, now, P)
        assert 0.0 <= e.score(now, P) <= 1.0
        assert 0.0 <= e.uncertainty(now, P) <= 1.0
        assert e.r <= P.R_max and e.rf <= P.R_max


@given(steps, st.lists(st.floats(0.0, 1000.0), min_size=1, max_size=10))
def test_decay_never_adds_evidence(ops: list[tuple[bool, float, float]],
                                   later: list[float]) -> None:
    e = Evidence()
    now = 0.0
    for positive, weight, dt in ops:
        now += dt
        e.add(positive, weight, now, P)
    for dt in later:
        before = (e.r, e.s, e.rf, e.sf)
        now += dt
        e.decay(now, P)
        after = (e.r, e.s, e.rf, e.sf)
        assert all(a <= b for a, b in zip(after, before, strict=True))


def test_reading_in_the_past_changes_nothing() -> None:
    e = Evidence(10.0)
    e.add(True, 3.0, 10.0, P)
    assert e.score(5.0, P) == e.score(10.0, P)
    assert e.t == 10.0


def test_newcomer_scores_the_base_rate() -> None:
    assert Evidence().score(0.0, P) == pytest.approx(0.5)
    assert Evidence().opinion(0.0, P) == VACUOUS


def test_positive_evidence_is_capped() -> None:
    e = Evidence()
    e.add(True, 500.0, 0.0, P)
    assert e.r == P.R_max and e.rf == P.R_max
    assert e.score(0.0, P) == pytest.approx((50 + 1) / 52)


def test_score_is_the_lower_horizon() -> None:
    e = Evidence()
    for t in range(100):
        e.add(True, 1.0, float(t), P)
    e.add(False, 10.0, 100.0, P)
    long = (e.r + 1) / (e.r + e.s + 2)
    fast = (e.rf + 1) / (e.rf + e.sf + 2)
    assert e.score(100.0, P) == pytest.approx(min(long, fast))
    assert fast < long  # a recent drop shows first in the short horizon


def test_half_lives() -> None:
    e = Evidence()
    e.add(True, 8.0, 0.0, P)
    e.add(False, 8.0, 0.0, P)
    e.decay(100.0, P)
    assert e.r == pytest.approx(4.0) and e.s == pytest.approx(8 * 2 ** -0.25)
    assert e.rf == pytest.approx(8 * 2**-5)


opinions = st.tuples(st.floats(0, 1), st.floats(0, 1)).map(
    lambda bd: Opinion(bd[0] * (1 - bd[1]), (1 - bd[0]) * (1 - bd[1]), bd[1])
)


@given(opinions, opinions)
def test_discount_and_fusion_keep_opinions_well_formed(x: Opinion, y: Opinion) -> None:
    for o in (discount(x, y), fuse(x, y)):
        assert math.isclose(o.b + o.d + o.u, 1.0, abs_tol=1e-9)
        assert min(o.b, o.d, o.u) >= -1e-12


@given(opinions, opinions)
def test_discounting_never_adds_belief(trust: Opinion, advice: Opinion) -> None:
    assert discount(trust, advice).b <= advice.b + 1e-12
    assert discount(trust, advice).u >= advice.u - 1e-12


def test_chain_discounts_from_the_evaluator_outwards() -> None:
    a, b, c = Opinion(0.9, 0.0, 0.1), Opinion(0.8, 0.1, 0.1), Opinion(0.6, 0.2, 0.2)
    assert discount_chain([a, b, c]) == discount(a, discount(b, c))
    assert discount_chain([]) == VACUOUS


def test_fusing_with_a_vacuous_opinion_is_neutral() -> None:
    x = Opinion(0.6, 0.1, 0.3)
    fused = fuse(VACUOUS, x)
    assert fused.b == pytest.approx(x.b) and fused.u == pytest.approx(x.u)


def test_opinion_evidence_round_trip() -> None:
    e = Evidence()
    e.add(True, 6.0, 0.0, P)
    e.add(False, 2.0, 0.0, P)
    assert e.opinion(0.0, P).evidence(P.W) == pytest.approx(8.0)
    assert e.opinion(0.0, P).expectation(P.a) == pytest.approx(e.score(0.0, P))


def test_plus_adds_both_records_under_the_cap() -> None:
    a, b = Evidence(), Evidence()
    a.add(True, 30.0, 0.0, P)
    b.add(True, 30.0, 0.0, P)
    b.add(False, 4.0, 0.0, P)
    both = a.plus(b, 0.0, P)
    assert (both.r, both.s) == (P.R_max, 4.0)
    assert (a.r, b.r) == (30.0, 30.0)  # neither changed
