"""Verdicts → one feedback value per interaction."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from jobber.sensors.feedback import VerdictLog, feedback
from jobber.sensors.rules import Verdict
from jobber.types import Severity, TenantId

ACME, GLOBEX = TenantId("acme"), TenantId("globex")


def verdict(time: float, severity: Severity, tenant: TenantId | None = GLOBEX) -> Verdict:
    return Verdict(time, "rule", severity, "198.51.100.7", tenant, "e1")


def test_worst_severity_wins() -> None:
    seen = [verdict(1, Severity.POS), verdict(2, Severity.LOW), verdict(3, Severity.HIGH),
            verdict(4, Severity.MED)]
    assert feedback(seen, GLOBEX, 0, 10) is Severity.HIGH


def test_clean_traffic_is_pos_and_nothing_seen_is_none() -> None:
    assert feedback([verdict(1, Severity.POS), verdict(2, Severity.POS)], GLOBEX, 0, 10) is (
        Severity.POS)
    assert feedback([], GLOBEX, 0, 10) is None


def test_only_the_peer_and_the_interaction_window_count() -> None:
    seen = [verdict(5, Severity.HIGH, ACME), verdict(5, Severity.HIGH, None),
            verdict(-1, Severity.HIGH), verdict(11, Severity.HIGH), verdict(10, Severity.LOW),
            verdict(0, Severity.POS)]
    assert feedback(seen, GLOBEX, 0, 10) is Severity.LOW


@given(st.lists(st.tuples(st.floats(0, 100), st.sampled_from(list(Severity))), max_size=30),
       st.randoms())
def test_order_does_not_matter(items: list[tuple[float, Severity]], rng: random.Random) -> None:
    seen = [verdict(time, severity) for time, severity in items]
    shuffled = list(seen)
    rng.shuffle(shuffled)
    result = feedback(seen, GLOBEX, 10, 90)
    assert result == feedback(shuffled, GLOBEX, 10, 90)
    inside = [v.severity for v in seen if 10 <= v.time <= 90]
    assert result == (max(inside) if inside else None)


def test_verdict_log_keeps_tenants_apart_and_forgets_old_verdicts() -> None:
    log = VerdictLog(horizon=100, limit=3)
    log.record([verdict(1, Severity.MED), verdict(2, Severity.POS, ACME),
                verdict(3, Severity.HIGH, None)])
    assert log.feedback_for(GLOBEX, 0, 10) is Severity.MED
    assert log.feedback_for(ACME, 0, 10) is Severity.POS
    assert log.prune(now=103) == 2
    assert log.feedback_for(GLOBEX, 0, 200) is None
    log.record([verdict(200 + i, Severity.POS) for i in range(5)])
    log.record([verdict(199, Severity.HIGH)])
    assert log.feedback_for(GLOBEX, 0, 300) is Severity.HIGH
    log.record([verdict(300 + i, Severity.POS) for i in range(3)])  # the limit pushes it out
    assert log.feedback_for(GLOBEX, 0, 400) is Severity.POS
