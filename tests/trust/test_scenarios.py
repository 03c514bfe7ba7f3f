"""The design's numbers, reproduced with the default policy (DESIGN.md §2.2).

Where decay or the formulas make a figure differ from the design's round number, the test states
the exact figure and why.
"""

from __future__ import annotations

import math

import pytest

from jobber.trust.evidence import Evidence
from jobber.trust.policy import DEFAULT_POLICY as P
from jobber.types import PROVIDER, Severity, Status, TenantId

from .helpers import interact, network, trusted_pair


@pytest.mark.parametrize(("clean", "status"), [(4, Status.PROBATION), (5, Status.TRUSTED)])
def test_newcomer_is_trusted_after_five_clean_interactions(clean: int, status: Status) -> None:
    net = network("a", "b")
    outcome = net.introduce(TenantId("a"), TenantId("b"), 0.0)
    assert outcome.introduced.status is Status.PROBATION  # the provider's introduction
    interact(net, "b", outcome.introduced.connection, Severity.POS, 0.0, clean)
    # 4 clean: score (4+1)/(4+2) = 0.833 ≥ θ_trust, but evidence 4 < n_min = 5.
    # 5 clean: score 6/7 = 0.857 with evidence 5 and 5 clean interactions.
    for tenant in ("a", "b"):
        conn = net.ledgers[TenantId(tenant)].connections[outcome.introduced.connection]
        assert conn.status is status


def test_from_full_trust_one_high_revokes() -> None:
    net = network("a", "b")
    conn = trusted_pair(net, "a", "b", 0.0, clean=60)
    b = net.ledgers[TenantId("b")]
    assert b.views[TenantId("a")].r == P.R_max
    interact(net, "b", conn, Severity.HIGH, 0.0)
    # E_long = E_fast = (50 + 1) / (50 + 50 + 2) = 0.5 exactly: at θ_drop, hence "at or below".
    assert b.score(TenantId("a"), 0.0) == pytest.approx(0.5)
    assert b.connections[conn].status is Status.REVOKED
    assert net.ledgers[TenantId("a")].connections[conn].status is Status.REVOKED
    assert b.is_blocked(TenantId("a"), 49.0) and not b.is_blocked(TenantId("a"), 50.0)


def test_rehabilitation_after_one_high_takes_836_epochs() -> None:
    e = Evidence()
    e.add(True, 100.0, 0.0, P)  # at the cap
    e.add(False, P.w_high, 0.0, P)
    epoch = 0
    while e.score(float(epoch), P) < P.theta_trust:
        epoch += 1
        e.add(True, P.w_pos, float(epoch), P)
        assert epoch < 2000
    # r stays at the cap (one clean per epoch outpaces H_r decay), so the long horizon is
    # trusted once s ≤ 51/0.8 − 52 = 11.75, i.e. after 400·log2(50/11.75) = 835.7 epochs.
    assert epoch == 836 == math.ceil(400 * math.log2(50 / (51 / 0.8 - 52)))
    assert e.count(float(epoch), P) >= P.n_min


def test_two_hop_introduction_of_a_newcomer_lands_on_probation() -> None:
    # n (newcomer) ─ i1 ─ i2 ─ t : i1 and i2 vouch, t has never seen n.
    net = network("n", "i1", "i2", "t")
    trusted_pair(net, "i1", "i2", 0.0, clean=60)
    trusted_pair(net, "i2", "t", 0.0, clean=60)
    trusted_pair(net, "n", "i1", 0.0, clean=5)
    outcome = net.introduce(TenantId("n"), TenantId("t"), 0.0)
    assert outcome.introduced.status is Status.PROBATION
    assert not outcome.introduced.by_provider
    conn = net.ledgers[TenantId("t")].connections[outcome.introduced.connection]
    assert conn.path == (TenantId("i1"), TenantId("i2"))
    # t's chain: t→i2 and i2→i1 at b = 50/52, i1→n at b = 5/7, u = 2/7. Discounted:
    # b = (50/52)²·5/7 = 0.660, u = 0.340, E = 0.830 ≥ θ_trust but evidence 2·0.660/0.340
    # = 3.88 < n_min = 5, so probation.
    b = (50 / 52) ** 2 * 5 / 7
    assert f"E {b + 0.5 * (1 - b):.3f}" in conn.reason
    assert f"evidence {2 * b / (1 - b):.2f}" in conn.reason


def test_introducers_vouch_only_with_history() -> None:
    net = network("n", "i", "t")
    trusted_pair(net, "i", "t", 0.0, clean=60)
    net.introduce(TenantId("n"), TenantId("i"), 0.0)  # probation, no history yet
    outcome = net.introduce(TenantId("n"), TenantId("t"), 0.0)
    # i refuses (evidence 0 < n_intro), so the negotiator falls back on the provider.
    assert outcome.introduced.by_provider and outcome.attempts == 2


def test_accountability_charges_the_introducer() -> None:
    net = network("n", "i", "t")
    trusted_pair(net, "i", "t", 0.0, clean=10)
    trusted_pair(net, "n", "i", 0.0, clean=5)
    conn = net.introduce(TenantId("n"), TenantId("t"), 0.0).introduced.connection
    t = net.ledgers[TenantId("t")]
    direct = t.score(TenantId("i"), 1.0)
    as_introducer = t.referral_score(TenantId("i"), 1.0)
    interact(net, "t", conn, Severity.MED, 1.0)
    assert t.referrals[TenantId("i")].s == pytest.approx(P.rho * P.w_med)
    assert t.referral_score(TenantId("i"), 1.0) < as_introducer
    assert t.score(TenantId("i"), 1.0) == pytest.approx(direct)  # its own links are not judged


def test_provider_blocks_by_global_score_and_throttles_probations() -> None:
    net = network("s", "v1", "v2", "v3", "v4")
    ids = [net.introduce(TenantId("s"), TenantId(v), 0.0).introduced for v in ("v1", "v2", "v3")]
    assert all(i.status is Status.PROBATION for i in ids)
    fourth = net.introduce(TenantId("s"), TenantId("v4"), 0.0).introduced
    assert fourth.status is None and "outstanding" in fourth.reason
    # One probation ends in trust: the throttle opens again.
    interact(net, "v1", ids[0].connection, Severity.POS, 0.0, 5)
    assert net.introduce(TenantId("s"), TenantId("v4"), 0.0).introduced.status is not None
    # The provider's global view sinks under θ_block after a HIGH: no more probation.
    interact(net, "v2", ids[1].connection, Severity.HIGH, 1.0)
    assert net.provider.score(TenantId("s"), 1.0) < P.theta_block
    net2 = network("x")
    net.add(TenantId("x"))
    refused = net.introduce(TenantId("s"), TenantId("x"), 2.0).introduced
    assert refused.status is None and "θ_block" in refused.reason
    assert net2.provider.score(TenantId("s"), 2.0) == 0.5  # another network knows nothing


def test_provider_is_never_charged_and_never_an_endpoint() -> None:
    net = network("a", "b")
    conn = net.introduce(TenantId("a"), TenantId("b"), 0.0).introduced.connection
    interact(net, "b", conn, Severity.MED, 0.0)
    assert PROVIDER not in net.ledgers[TenantId("b")].views
    assert net.introduce(TenantId("a"), PROVIDER, 0.0).introduced.status is None


def test_a_target_with_no_view_of_the_introducer_refuses() -> None:
    # t is linked to i but has never rated it: i's vouch is worth nothing to t.
    net = network("n", "i", "t")
    conn = net.introduce(TenantId("t"), TenantId("i"), 0.0).introduced.connection
    interact(net, "i", conn, Severity.POS, 0.0, 5)  # i rates t; t never rates i
    trusted_pair(net, "n", "i", 0.0, clean=5)
    outcome = net.introduce(TenantId("n"), TenantId("t"), 0.0)
    assert outcome.attempts == 2 and outcome.introduced.by_provider  # fell back on the provider


def test_one_false_alarm_does_not_cut_off_a_stranger() -> None:
    net = network("a", "b")
    conn = net.introduce(TenantId("a"), TenantId("b"), 0.0).introduced.connection
    interact(net, "b", conn, Severity.LOW, 0.0)
    b = net.ledgers[TenantId("b")]
    # score (0 + 1) / (1 + 2) = 0.33 ≤ θ_drop, but on 1 < n_min evidence: no revocation.
    assert b.score(TenantId("a"), 0.0) < P.theta_drop
    assert b.connections[conn].status is Status.PROBATION
    interact(net, "b", conn, Severity.LOW, 0.0, times=4)  # five LOWs are evidence enough
    assert b.connections[conn].status is Status.REVOKED


def test_the_providers_throttle_inspects_rather_than_denies() -> None:
    net = network("s", "v1", "v2", "v3", "v4")
    for v in ("v1", "v2", "v3"):
        net.introduce(TenantId("s"), TenantId(v), 0.0)
    throttled = net.introduce(TenantId("s"), TenantId("v4"), 0.0).introduced
    assert throttled.status is None and not throttled.final
    assert throttled.decision.value == "INSPECT"
