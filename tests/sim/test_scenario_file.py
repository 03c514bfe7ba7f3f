"""Scenario files: the shipped ones load, and bad ones are refused with one line naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from jobber.errors import ConfigError
from jobber.sim.scenario import Kind, builtin_dir, builtin_names
from jobber.sim.scenario_file import load_scenario, parse_scenario
from jobber.trust.models import ABLATIONS, BASELINES
from jobber.types import Severity

THREATS = {"camouflage", "traitor", "oscillator", "collusion", "slander", "whitewash", "sybil",
           "noncompliant", "sensor-fp"}


def _base(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "t", "tenants": 20, "epochs": 5, "models": ["inspect-all"]}
    data.update(changes)
    return data


def test_every_threat_has_a_shipped_scenario_that_loads() -> None:
    assert {*THREATS, "default"} <= set(builtin_names())
    for name in builtin_names():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert "jobber" in scenario.models


def test_the_top_level_scenarios_link_points_at_the_package_data() -> None:
    link = Path(__file__).parents[2] / "scenarios"
    assert link.resolve() == builtin_dir().resolve()


def test_default_scenario_is_the_demo() -> None:
    s = load_scenario("default")
    assert (s.tenants, s.seeds) == (100, 5)
    assert set(s.models) == {"jobber", *ABLATIONS, *BASELINES}
    kinds = {b.kind for b in s.behaviours}
    assert kinds == set(Kind) - {Kind.HONEST}
    misbehaving = sum(b.count for b in s.behaviours)
    assert 0.15 <= misbehaving / (s.tenants + sum(b.count for b in s.behaviours
                                                   if b.kind is Kind.SYBIL)) <= 0.25


def test_a_file_converts_to_core_values() -> None:
    s = parse_scenario(_base(
        behaviours=[{"kind": "traitor", "share": 0.1, "turn_at": 7},
                    {"kind": "sybil", "count": 3, "at": 2},
                    {"kind": "slanderer", "share": 0.05, "severity": "HIGH"},
                    {"kind": "noncompliant", "share": 0.05, "mode": "accept_all"}],
        sensors={"false_positive_rate": 0.01, "severity": {"attack": {"LOW": 0.5, "HIGH": 0.5}}},
    ))
    traitor, sybil, slanderer, noncompliant = s.behaviours
    assert (traitor.kind, traitor.count, traitor.turn_at) == (Kind.TRAITOR, 2, 7)
    assert (sybil.count, sybil.at) == (3, 2)
    assert slanderer.slander is Severity.HIGH
    assert noncompliant.policy_overrides()["theta_accept"] == 0.0
    assert s.sensors.mix("attack") == ((Severity.LOW, 0.5), (Severity.HIGH, 0.5))


@pytest.mark.parametrize(("changes", "message"), [
    ({"tenantz": 5}, "tenantz: unknown key"),
    ({"tenants": 1}, "tenants: Input should be greater than or equal to 2"),
    ({"epochs": "many"}, "epochs: Input should be a valid integer"),
    ({"models": ["jobber", "magic"]}, "models: unknown model 'magic'"),
    ({"models": []}, "models: List should have at least 1 item"),
    ({"behaviours": [{"kind": "camouflage", "share": 0.1, "f": 1.5}]},
     "behaviours[0].f: Input should be less than or equal to 1"),
    ({"behaviours": [{"kind": "camouflage", "share": 0.1, "turn_at": 3}]},
     "behaviours[0].turn_at: unknown key"),
    ({"behaviours": [{"kind": "vampire", "share": 0.1}]}, "behaviours[0]"),
    ({"behaviours": [{"kind": "attacker", "share": 0.7}, {"kind": "traitor", "share": 0.4}]},
     "behaviours: shares add up to 1.1, more than 1"),
    ({"behaviours": [{"kind": "oscillator", "share": 0.1, "period": 4, "bad_for": 4}]},
     "bad_for=4 must be less than period=4"),
    ({"behaviours": [{"kind": "attacker", "share": 0.1, "attack": "scan"}]},
     "behaviours[0].attack: 'scan' has no severity mix"),
    ({"behaviours": [{"kind": "attacker", "share": 0.1, "policy": {"theta_trust": 2}}]},
     "behaviours[0].policy: theta_trust=2.0 must lie in [0, 1]"),
    ({"sensors": {"false_negative_rate": -0.1}}, "sensors.false_negative_rate"),
    ({"sensors": {"severity": {"attack": {"MED": 0.5}}}},
     "sensors.severity.attack: probabilities must sum to 1, not 0.5"),
    ({"sensors": {"false_positive_severity": {"POS": 1.0}}}, "sensors.false_positive_severity"),
    ({"security_stack": {"catch_rate": 2}}, "security_stack.catch_rate"),
    ({"traffic": {"sessions_per_epoch": 0}}, "traffic.sessions_per_epoch"),
])
def test_a_bad_scenario_is_refused_naming_the_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenario(_base(**changes), "bad.yaml")
    text = str(info.value)
    assert text.startswith("scenario bad.yaml: ")
    assert message in text
    assert "\n" not in text


def test_file_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or shipped scenario"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"shipped: .*camouflage"):
        load_scenario("no-such-threat")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_scenario(listed)


def test_a_written_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_base(behaviours=[{"kind": "whitewasher", "share": 0.2}])))
    s = load_scenario(path)
    assert s.behaviours[0].kind is Kind.WHITEWASHER
    assert s.behaviours[0].count == 4
    assert s.with_changes(epochs=9, seeds=1).seed_list == (0,)
