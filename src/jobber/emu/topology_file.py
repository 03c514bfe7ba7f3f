"""The edge between a topology YAML file and the core ``Topology``.

Pydantic models mirror the file and forbid unknown keys; ``load_topology`` reads a file, or a
shipped topology by name (``default``, ``short``), validates it, converts it with
``to_topology`` and runs ``topology.check``. Every error is a ``ConfigError`` whose lines name
the file, the key and what is wrong. Nothing else in ``jobber.emu`` imports pydantic.

File format::

    name: default
    description: …
    tenants:
      alpha:
        role: honest                 # honest | newcomer | attacker
        prefix: 10.97.1.0/24
        hosts:
          a1: {ip: 10.97.1.1, mac: "02:97:01:00:00:01", services: [http, ssh, iperf3]}
    baseline:                        # two hosts outside every tenant: the no-Jobber path
      p1: {ip: 10.97.250.1, mac: "02:97:fa:00:00:01"}
      p2: {ip: 10.97.250.2, mac: "02:97:fa:00:00:02"}
    security_stack: {allow: [http, ssh, iperf3], scan_rate: 10}
    traffic:
      - {from: b1, to: a1, service: http, rounds: 6}
    attacks:                         # run in order, after the traffic rounds
      - {kind: ssh-brute-force, from: m1, to: c1, count: 8}
    measure: {direct: [b1, a1], inspect: [d1, a1], iperf_seconds: 3, ping_count: 20, repeats: 3}
    timing: {decision_idle: 2, epoch_seconds: 60, round_timeout: 15}
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobber.config import explain
from jobber.emu.topology import (
    Attack,
    AttackKind,
    Host,
    Measure,
    Role,
    Service,
    Stack,
    Talk,
    Tenant,
    Timing,
    Topology,
    check,
)
from jobber.errors import ConfigError

ServiceName = Literal["http", "ssh", "iperf3"]
_ALL: tuple[ServiceName, ...] = ("http", "ssh", "iperf3")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HostFile(_Strict):
    ip: str
    mac: str
    services: list[ServiceName] = Field(default_factory=list)


class BaselineHostFile(_Strict):
    ip: str
    mac: str


class TenantFile(_Strict):
    role: Literal["honest", "newcomer", "attacker"] = "honest"
    prefix: str
    hosts: dict[str, HostFile] = Field(min_length=1)


class TalkFile(_Strict):
    src: str = Field(alias="from")
    dst: str = Field(alias="to")
    service: ServiceName
    rounds: int = Field(ge=1)


class AttackFile(_Strict):
    kind: Literal["port-scan", "ssh-brute-force"]
    src: str = Field(alias="from")
    dst: str = Field(alias="to")
    count: int = Field(ge=1)


class StackFile(_Strict):
    allow: list[ServiceName] = Field(default_factory=lambda: list(_ALL))
    scan_rate: int = Field(10, ge=1, le=10_000)


class MeasureFile(_Strict):
    direct: tuple[str, str]
    inspect: tuple[str, str]
    iperf_seconds: float = Field(3.0, gt=0, le=30)
    ping_count: int = Field(20, ge=1, le=200)
    repeats: int = Field(3, ge=1, le=9)


class TimingFile(_Strict):
    decision_idle: int = Field(2, ge=1, le=60)
    epoch_seconds: float = Field(60.0, gt=0, le=86400)
    round_timeout: float = Field(15.0, gt=0, le=120)


class TopologyFile(_Strict):
    name: str
    description: str = ""
    tenants: dict[str, TenantFile] = Field(min_length=2)
    baseline: dict[str, BaselineHostFile] = Field(min_length=2, max_length=2)
    security_stack: StackFile = Field(default_factory=lambda: StackFile.model_validate({}))
    traffic: list[TalkFile] = Field(min_length=1)
    attacks: list[AttackFile] = Field(default_factory=list)
    measure: MeasureFile
    timing: TimingFile = Field(default_factory=lambda: TimingFile.model_validate({}))


def to_topology(model: TopologyFile) -> Topology:
    """The core value of a validated file (``check`` has not run yet)."""
    tenants, hosts = [], []
    for tname, t in model.tenants.items():
        tenants.append(Tenant(tname, Role(t.role), t.prefix, tuple(t.hosts)))
        hosts += [Host(hname, tname, h.ip, h.mac.lower(), frozenset(map(Service, h.services)))
                  for hname, h in t.hosts.items()]
    base = [Host(n, "", h.ip, h.mac.lower()) for n, h in model.baseline.items()]
    m = model.measure
    return Topology(
        name=model.name, description=model.description, tenants=tuple(tenants),
        hosts=tuple(hosts), baseline=(base[0], base[1]),
        talks=tuple(Talk(t.src, t.dst, Service(t.service), t.rounds) for t in model.traffic),
        attacks=tuple(Attack(AttackKind(a.kind), a.src, a.dst, a.count) for a in model.attacks),
        stack=Stack(frozenset(map(Service, model.security_stack.allow)),
                    model.security_stack.scan_rate),
        measure=Measure(m.direct, m.inspect, m.iperf_seconds, m.ping_count, m.repeats),
        timing=Timing(model.timing.decision_idle, model.timing.epoch_seconds,
                      model.timing.round_timeout))


def builtin_dir() -> Path:
    return Path(str(resources.files("jobber.emu") / "scenarios"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return path
    return builtin_dir() / f"{name_or_path}.yaml"


def parse_topology(raw: Any, source: str = "<topology>") -> Topology:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values")
    try:
        model = TopologyFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(explain(source, exc)) from None
    try:
        return check(to_topology(model))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_topology(name_or_path: str = "default") -> Topology:
    path = resolve(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such topology (shipped: "
                          f"{', '.join(builtin_names())})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_topology(raw, str(path))
