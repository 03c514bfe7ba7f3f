"""The emulated data center's pure description: shipped files load, bad ones are refused with a
clear message, and the same description runs in the simulator."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobber.emu.topology import (
    BASELINE_PORTS,
    MIDDLEBOX_PORTS,
    AttackKind,
    Role,
    Service,
    to_scenario,
)
from jobber.emu.topology_file import builtin_dir, builtin_names, load_topology, parse_topology
from jobber.errors import ConfigError
from jobber.sim.experiment import run_scenario
from jobber.sim.scenario import Kind


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((builtin_dir() / "default.yaml").read_text())
    return data


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        parse_topology(data, "t.yaml")
    return str(err.value)


def test_shipped_topologies_load() -> None:
    assert {"default", "short"} <= set(builtin_names())
    for name in builtin_names():
        topo = load_topology(name)
        assert topo.name == name
        roles = {t.role for t in topo.tenants}
        assert roles == {Role.HONEST, Role.NEWCOMER, Role.ATTACKER}
        assert len(topo.tenants) >= 4


def test_default_describes_the_issue_scenario() -> None:
    topo = load_topology("default")
    assert topo.host("c1").services == frozenset(Service)
    assert [a.kind for a in topo.attacks] == [AttackKind.SSH_BRUTE_FORCE,
                                              AttackKind.PORT_SCAN]
    assert topo.role_of("m1") is Role.ATTACKER and topo.role_of("d1") is Role.NEWCOMER
    assert topo.inventory()["alpha"] == ["10.97.1.0/24"]
    assert topo.rounds == 12


def test_ports_are_deterministic_and_distinct() -> None:
    topo = load_topology("default")
    ports = topo.ports()
    assert ports["a1"] == 1 and ports["p1"] == BASELINE_PORTS[0]
    assert len(set(ports.values())) == len(ports)
    assert not set(ports.values()) & set(MIDDLEBOX_PORTS)


def test_a_file_by_path_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw()))
    assert load_topology(str(path)).name == "default"
    with pytest.raises(ConfigError, match="no such topology"):
        load_topology("nonesuch")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(colour="red"), "colour: unknown key"),
    (lambda d: d["tenants"]["alpha"]["hosts"]["a1"].update(ip="192.0.2.7"),
     "not a host address in 10.97.0.0/16"),
    (lambda d: d["tenants"]["alpha"]["hosts"]["a1"].update(ip="10.97.9.9"),
     "outside alpha's 10.97.1.0/24"),
    (lambda d: d["tenants"]["bravo"].update(prefix="10.97.1.0/25"), "overlaps alpha's"),
    (lambda d: d["tenants"]["alpha"]["hosts"]["a2"].update(mac="02:97:01:00:00:01"),
     "MAC given twice"),
    (lambda d: d["tenants"]["alpha"]["hosts"]["a1"].update(mac="01:00:5e:00:00:01"),
     "locally administered"),
    (lambda d: d["traffic"].append({"from": "a1", "to": "a2", "service": "http", "rounds": 1}),
     "both hosts belong to alpha"),
    (lambda d: d["traffic"].append({"from": "a1", "to": "d1", "service": "ssh", "rounds": 1}),
     "d1 runs no ssh"),
    (lambda d: d["traffic"].append({"from": "b1", "to": "c1", "service": "ssh", "rounds": 1}),
     "honest traffic over ssh"),
    (lambda d: d["traffic"].append({"from": "zz", "to": "a1", "service": "http", "rounds": 1}),
     "unknown host zz"),
    (lambda d: d["attacks"].append({"kind": "port-scan", "from": "m1", "to": "c1",
                                    "count": 100000}), "count must be"),
    (lambda d: d["tenants"]["alpha"]["hosts"].update(
        averyverylongname={"ip": "10.97.1.9", "mac": "02:97:01:00:00:09"}),
     "1-8 lower-case"),
    (lambda d: d["baseline"]["p1"].update(ip="10.97.1.200"), "lies in a tenant's prefix"),
    (lambda d: d["measure"].update(inspect=["d1", "b1"]) or
     d["tenants"]["bravo"]["hosts"]["b1"].update(services=["http"]), "b1 runs no iperf3"),
    (lambda d: d["tenants"]["alpha"].update(role="saint"), "tenants.alpha.role"),
])
def test_bad_topologies_are_refused_naming_the_problem(change: Any, message: str) -> None:
    data = copy.deepcopy(raw())
    change(data)
    text = refused(data)
    assert message in text and text.startswith("t.yaml"), text


def test_the_same_description_runs_in_the_simulator() -> None:
    topo = load_topology("short")
    scenario = to_scenario(topo, epochs=12, seeds=1, models=("jobber",))
    assert scenario.tenants == len(topo.tenants)
    (traitor,) = scenario.behaviours
    assert traitor.kind is Kind.TRAITOR and traitor.count == 1 and traitor.turn_at == 12
    assert scenario.stack.catch_rate == 0.5  # the scan hits closed ports; ssh is allowed
    results = run_scenario(scenario, jobs=1)
    assert [r.model for r in results.runs] == ["jobber"]
