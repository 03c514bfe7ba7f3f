"""Policy: the design's defaults, per-tenant overrides, refusal of incoherent policies."""

from __future__ import annotations

import pytest

from jobber.errors import PolicyError
from jobber.trust.policy import DEFAULT_POLICY, Policy
from jobber.types import Severity


def test_defaults_are_the_designs() -> None:
    p = DEFAULT_POLICY
    assert (p.W, p.a, p.theta_trust, p.n_min, p.m_clean) == (2, 0.5, 0.8, 5, 5)
    assert (p.theta_accept, p.theta_intro, p.n_intro, p.theta_drop, p.theta_block) == (
        0.6, 0.7, 3, 0.5, 0.3)
    assert [p.weight(s) for s in Severity] == [1, 1, 10, 50]
    assert (p.R_max, p.H_r, p.H_s, p.H_fast, p.rho, p.D_max) == (50, 100, 400, 20, 0.5, 2)
    assert (p.dev_d, p.n_dev, p.dev_delta, p.H_max, p.k, p.P_max) == (0.5, 5, 0.25, 3, 3, 3)
    assert (p.T_block, p.block_cap) == (50, 5000)


def test_blocks_escalate_and_cap() -> None:
    p = DEFAULT_POLICY
    assert [p.block_duration(n) for n in (1, 2, 3, 4)] == [50, 500, 5000, 5000]


def test_overrides_build_a_checked_copy() -> None:
    p = DEFAULT_POLICY.with_overrides({"theta_intro": 0.0, "n_intro": 0, "k": 5})
    assert p.theta_intro == 0.0 and p.k == 5 and isinstance(p.k, int)
    assert DEFAULT_POLICY.theta_intro == 0.7


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"theta_drop": 0.9}, "theta_drop"),
        ({"H_s": -1.0}, "H_s"),
        ({"H_fast": 200.0}, "H_fast"),
        ({"H_s": 50.0}, "H_s"),
        ({"theta_trust": 1.5}, "theta_trust"),
        ({"theta_block": 0.55}, "theta_block"),
        ({"thetatrust": 0.5}, "thetatrust"),
        ({"k": 2.5}, "k"),
        ({"recall": "yes"}, "recall"),
        ({"W": 0.0}, "W"),
        ({"rho": float("nan")}, "rho"),
    ],
)
def test_incoherent_policies_are_refused_by_name(overrides: dict[str, object],
                                                 names: str) -> None:
    with pytest.raises(PolicyError, match=names):
        DEFAULT_POLICY.with_overrides(overrides)


def test_check_names_the_rule() -> None:
    with pytest.raises(PolicyError, match=r"theta_drop=0.9 must not exceed theta_accept=0.6"):
        Policy(theta_drop=0.9).check()
