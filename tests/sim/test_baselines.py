"""The baselines follow their documented rules; the registry builds every model by name."""

from __future__ import annotations

import random

import pytest

from jobber.errors import ConfigError
from jobber.trust.models import MODELS, build
from jobber.trust.models.base import Admission
from jobber.trust.models.baselines import (
    CentralBeta,
    DirectExperience,
    EigenTrust,
    InspectAll,
    TrustAll,
)
from jobber.types import Decision, InteractionId, Severity, Status, TenantId

A, B, C, D = (TenantId(x) for x in "abcd")
IID = InteractionId("i")
NONE = Admission(Decision.INSPECT)


def test_inspect_all_and_trust_all() -> None:
    assert InspectAll().admit(A, B, 0.0).decision is Decision.INSPECT
    assert TrustAll().admit(A, B, 0.0).decision is Decision.DIRECT


def test_direct_experience_is_per_ordered_pair_with_the_policy_thresholds() -> None:
    m = DirectExperience()
    for _ in range(4):
        m.feedback(B, A, NONE, IID, Severity.POS, 0.0)
    assert m.admit(A, B, 0.0).decision is Decision.INSPECT  # 4 < n_min
    m.feedback(B, A, NONE, IID, Severity.POS, 0.0)
    assert m.admit(A, B, 0.0).decision is Decision.DIRECT  # 6/7 ≥ 0.8 with 5 evidence
    assert m.admit(A, C, 0.0).decision is Decision.INSPECT  # C has seen nothing of A
    assert m.admit(B, A, 0.0).decision is Decision.INSPECT  # A has seen nothing of B
    m.feedback(B, A, NONE, IID, Severity.MED, 0.0)  # (5+1)/(15+2) ≈ 0.35 ≤ θ_drop
    adm = m.admit(A, B, 0.0)
    assert (adm.decision, adm.status) == (Decision.DENY, Status.REVOKED)


def test_direct_experience_reports_a_fall_from_trust_as_a_demotion() -> None:
    m = DirectExperience()
    for _ in range(5):
        m.feedback(B, A, NONE, IID, Severity.POS, 0.0)
    assert m.admit(A, B, 0.0).status is Status.TRUSTED
    m.feedback(B, A, NONE, IID, Severity.LOW, 0.0)  # fast horizon (5+1)/(6+2) = 0.75
    adm = m.admit(A, B, 0.0)
    assert (adm.decision, adm.status) == (Decision.INSPECT, Status.DEMOTED)


def test_trust_that_merely_ages_is_not_a_demotion() -> None:
    m = DirectExperience()
    for _ in range(5):
        m.feedback(B, A, NONE, IID, Severity.POS, 0.0)
    assert m.admit(A, B, 0.0).status is Status.TRUSTED
    adm = m.admit(A, B, 200.0)  # the evidence decayed below n_min; nothing bad was seen
    assert (adm.decision, adm.status) == (Decision.INSPECT, Status.PROBATION)


def test_central_beta_pools_every_reporter() -> None:
    m = CentralBeta()
    for reporter in (B, C, D, B, C):
        m.feedback(reporter, A, NONE, IID, Severity.POS, 0.0)
    assert m.admit(A, D, 0.0).decision is Decision.DIRECT  # D never met A: global view
    m.feedback(C, A, NONE, IID, Severity.HIGH, 0.0)
    assert m.admit(A, B, 0.0).decision is Decision.DENY


def test_eigentrust_follows_its_documented_rule() -> None:
    m = EigenTrust()
    for t in (A, B, C, D):
        m.join(t, 0.0)
    m.tick(0.0)
    assert m.admit(A, B, 0.0).decision is Decision.INSPECT  # no feedback: not enough evidence
    for _ in range(5):
        for reporter, subject in ((A, B), (B, A), (C, A), (A, C), (B, C), (C, B)):
            m.feedback(reporter, subject, NONE, IID, Severity.POS, 0.0)
        m.feedback(A, D, NONE, IID, Severity.HIGH, 0.0)
        m.feedback(B, D, NONE, IID, Severity.MED, 0.0)
    assert m.admit(A, B, 0.0).decision is Decision.INSPECT  # nothing counts before the tick
    m.tick(1.0)
    assert m.admit(A, B, 1.0).decision is Decision.DIRECT
    ratio_d = m._ratio[3]
    # Nobody trusts D and D trusts nobody, so its own mass spreads uniformly:
    # N·t_D = α / (1 − (1 − α)/N).
    assert ratio_d == pytest.approx(0.1 / (1 - 0.9 / 4))
    assert m.admit(D, A, 1.0).decision is Decision.DENY
    assert sum(m._ratio) == pytest.approx(4.0)  # global trust sums to 1


def test_eigentrust_does_not_deny_an_unrated_newcomer() -> None:
    m = EigenTrust()
    m.join(A, 0.0)
    m.join(B, 0.0)
    m.tick(0.0)
    assert m.admit(A, B, 0.0).decision is Decision.INSPECT


def test_registry_builds_every_baseline_and_refuses_unknown_names() -> None:
    for name in ("inspect-all", "trust-all", "direct", "central", "eigentrust"):
        assert build(name, random.Random(0)).name == name
    assert {"jobber", "jobber-no-accountability", "jobber-no-recall", "jobber-symmetric-decay",
            "jobber-no-cap"} <= set(MODELS)
    with pytest.raises(ConfigError, match="unknown trust model 'nope'"):
        build("nope", random.Random(0))
