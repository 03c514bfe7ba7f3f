"""An emulated data center as a pure description: who is there, what runs, what happens. Pure.

A ``Topology`` names the tenants (their role, prefix and hosts), each host's address, MAC and
services, the security stack's policy, the rounds of honest traffic, the attacks that follow
them, what to measure, and the timings. It is a plain value: ``jobber.emu.network`` and
``jobber.emu.runner`` make it real, and ``to_scenario`` hands the same description to the
simulator (``jobber.sim``), so one file drives both.

Invariants (``check`` enforces them; ``topology_file`` is the only edge that builds one from
YAML and always calls it):

* every address lies in 10.97.0.0/16, the project's range for namespaces, and every host's
  address lies in its tenant's prefix; tenants' prefixes do not overlap; the baseline pair's
  addresses belong to no tenant;
* names are short lower-case words, so ``jb<tag><host>`` fits an interface name (15 bytes);
* addresses and MACs are unique; MACs are unicast and locally administered;
* traffic and attacks go between hosts of different tenants, to a service the target runs;
  every loop is bounded: rounds, ports and attempts have small maxima;
* switch ports are assigned here (``ports``), deterministically, so the controller's config and
  the builder agree.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

from jobber.errors import ConfigError
from jobber.sim.scenario import Behaviour, Kind, Scenario, SecurityStack, Sensors, Traffic
from jobber.types import Severity

EMU_NETWORK = ipaddress.IPv4Network("10.97.0.0/16")
NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
MAX_ROUNDS, MAX_PORTS, MAX_ATTEMPTS = 50, 200, 30
MIDDLEBOX_PORTS = (90, 91)  # the security stack's in and out ports on the switch
BASELINE_PORTS = (80, 81)  # the no-Jobber pair


class Role(StrEnum):
    HONEST = "honest"
    NEWCOMER = "newcomer"  # honest, but arrives late and talks little: stays on probation
    ATTACKER = "attacker"  # behaves for the traffic rounds, then runs the attacks


class Service(StrEnum):
    HTTP = "http"
    SSH = "ssh"
    IPERF3 = "iperf3"


SERVICE_PORTS: dict[Service, int] = {Service.HTTP: 80, Service.SSH: 22, Service.IPERF3: 5201}


class AttackKind(StrEnum):
    PORT_SCAN = "port-scan"  # TCP connects to `count` ports, all at once
    SSH_BRUTE_FORCE = "ssh-brute-force"  # `count` logins with a key the target does not know


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    tenant: str
    ip: str
    mac: str
    services: frozenset[Service] = frozenset()


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    role: Role
    prefix: str
    hosts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Talk:
    """``rounds`` interactions from ``src`` to ``dst``'s ``service``, one per traffic round."""

    src: str
    dst: str
    service: Service
    rounds: int


@dataclass(frozen=True, slots=True)
class Attack:
    kind: AttackKind
    src: str
    dst: str
    count: int


@dataclass(frozen=True, slots=True)
class Stack:
    """The security stack: new TCP connections only to these services; ICMP passes; a source
    opening more than ``scan_rate`` new connections a second is logged as a scan and dropped."""

    allow: frozenset[Service] = frozenset(Service)
    scan_rate: int = 10


@dataclass(frozen=True, slots=True)
class Measure:
    direct: tuple[str, str]  # a pair that becomes trusted
    inspect: tuple[str, str]  # a pair that stays on probation
    iperf_seconds: float = 3.0
    ping_count: int = 20
    repeats: int = 3  # iperf3 runs per path, interleaved; the median is reported


@dataclass(frozen=True, slots=True)
class Timing:
    decision_idle: int = 2  # seconds without a packet that end an interaction (flow idle)
    epoch_seconds: float = 60.0
    round_timeout: float = 15.0  # longest wait for a round's interactions to end


@dataclass(frozen=True, slots=True)
class Topology:
    name: str
    description: str
    tenants: tuple[Tenant, ...]
    hosts: tuple[Host, ...]
    baseline: tuple[Host, Host]
    talks: tuple[Talk, ...]
    attacks: tuple[Attack, ...]
    stack: Stack
    measure: Measure
    timing: Timing

    def host(self, name: str) -> Host:
        for host in (*self.hosts, *self.baseline):
            if host.name == name:
                return host
        raise KeyError(name)

    def tenant(self, name: str) -> Tenant:
        for tenant in self.tenants:
            if tenant.name == name:
                return tenant
        raise KeyError(name)

    def role_of(self, host: str) -> Role:
        return self.tenant(self.host(host).tenant).role

    def inventory(self) -> dict[str, list[str]]:
        """Tenant → its prefix, as the controller's and the sensors' inventories want it."""
        return {t.name: [t.prefix] for t in self.tenants}

    def ports(self) -> dict[str, int]:
        """Host (and baseline host) → switch port; the middlebox has ``MIDDLEBOX_PORTS``."""
        ports = {h.name: i for i, h in enumerate(self.hosts, start=1)}
        ports.update({h.name: p for h, p in zip(self.baseline, BASELINE_PORTS, strict=True)})
        return ports

    @property
    def rounds(self) -> int:
        return max((t.rounds for t in self.talks), default=0)


def check(topo: Topology) -> Topology:
    """``topo`` if it keeps the invariants above; else ``ConfigError`` naming what is wrong."""
    problems: list[str] = []
    names = [h.name for h in (*topo.hosts, *topo.baseline)]
    tenant_names = [t.name for t in topo.tenants]
    for name in [*names, *tenant_names]:
        if not NAME.match(name):
            problems.append(f"name {name!r}: 1-8 lower-case letters and digits, a letter first")
    for what, values in (("host", names), ("tenant", tenant_names),
                         ("address", [h.ip for h in (*topo.hosts, *topo.baseline)]),
                         ("MAC", [h.mac.lower() for h in (*topo.hosts, *topo.baseline)])):
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            problems.append(f"{what} given twice: {', '.join(dupes)}")
    if len(topo.hosts) >= BASELINE_PORTS[0]:
        problems.append(f"at most {BASELINE_PORTS[0] - 1} hosts")
    problems += _addresses(topo)
    by_name = {h.name: h for h in topo.hosts}
    for talk in topo.talks:
        problems += _pair("traffic", talk.src, talk.dst, by_name)
        if talk.dst in by_name and talk.service not in by_name[talk.dst].services:
            problems.append(f"traffic {talk.src}→{talk.dst}: {talk.dst} runs no {talk.service}")
        if talk.service is Service.SSH:
            problems.append(f"traffic {talk.src}→{talk.dst}: honest traffic over ssh would "
                            "fail to log in (no key is authorised) and read as an attack; "
                            "use http or iperf3")
        if not 1 <= talk.rounds <= MAX_ROUNDS:
            problems.append(f"traffic {talk.src}→{talk.dst}: rounds must be 1..{MAX_ROUNDS}")
    for attack in topo.attacks:
        problems += _pair("attack", attack.src, attack.dst, by_name)
        limit = MAX_PORTS if attack.kind is AttackKind.PORT_SCAN else MAX_ATTEMPTS
        if not 1 <= attack.count <= limit:
            problems.append(f"attack {attack.kind} {attack.src}→{attack.dst}: count must be "
                            f"1..{limit}")
        if attack.kind is AttackKind.SSH_BRUTE_FORCE and attack.dst in by_name \
                and Service.SSH not in by_name[attack.dst].services:
            problems.append(f"attack ssh-brute-force: {attack.dst} runs no ssh")
    for label, pair in (("direct", topo.measure.direct), ("inspect", topo.measure.inspect)):
        problems += _pair(f"measure.{label}", *pair, by_name)
        if pair[1] in by_name and Service.IPERF3 not in by_name[pair[1]].services:
            problems.append(f"measure.{label}: {pair[1]} runs no iperf3")
    if problems:
        raise ConfigError(f"topology {topo.name!r}: " + "; ".join(problems))
    return topo


def _addresses(topo: Topology) -> list[str]:
    problems: list[str] = []
    prefixes: dict[str, ipaddress.IPv4Network] = {}
    for tenant in topo.tenants:
        try:
            net = ipaddress.IPv4Network(tenant.prefix)
        except ValueError as exc:
            problems.append(f"tenant {tenant.name}: prefix {tenant.prefix!r}: {exc}")
            continue
        if not net.subnet_of(EMU_NETWORK):
            problems.append(f"tenant {tenant.name}: prefix {net} is outside {EMU_NETWORK}")
        for other, seen in prefixes.items():
            if net.overlaps(seen):
                problems.append(f"tenant {tenant.name}: prefix {net} overlaps {other}'s")
        prefixes[tenant.name] = net
    for host in (*topo.hosts, *topo.baseline):
        try:
            ip = ipaddress.IPv4Address(host.ip)
        except ValueError:
            problems.append(f"host {host.name}: {host.ip!r} is not an IPv4 address")
            continue
        if ip not in EMU_NETWORK or ip in (EMU_NETWORK.network_address,
                                           EMU_NETWORK.broadcast_address):
            problems.append(f"host {host.name}: {ip} is not a host address in {EMU_NETWORK} "
                            "(the only range used inside namespaces)")
        owner = prefixes.get(host.tenant)
        if host.tenant and owner is not None and ip not in owner:
            problems.append(f"host {host.name}: {ip} is outside {host.tenant}'s {owner}")
        if not host.tenant and any(ip in net for net in prefixes.values()):
            problems.append(f"baseline host {host.name}: {ip} lies in a tenant's prefix")
        if not re.fullmatch(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}", host.mac.lower()) or \
                int(host.mac[:2], 16) & 0x03 != 0x02:
            problems.append(f"host {host.name}: MAC {host.mac!r} must be unicast and locally "
                            "administered (e.g. 02:97:…)")
    return problems


def _pair(what: str, src: str, dst: str, hosts: dict[str, Host]) -> list[str]:
    missing = [n for n in (src, dst) if n not in hosts]
    if missing:
        return [f"{what} {src}→{dst}: unknown host {', '.join(missing)} (known: "
                f"{', '.join(sorted(hosts))})"]
    if hosts[src].tenant == hosts[dst].tenant:
        return [f"{what} {src}→{dst}: both hosts belong to {hosts[src].tenant}; Jobber "
                "decides only between tenants"]
    return []


def to_scenario(topo: Topology, *, epochs: int | None = None, seeds: int = 5,
                models: tuple[str, ...] = ("jobber", "inspect-all", "trust-all")) -> Scenario:
    """The same data center for the simulator: one tenant per tenant, attackers as traitors
    that turn after the traffic rounds, real sensors (no false alarms), one session per round.

    ``epochs`` defaults to four times the traffic rounds, so the simulator also shows what
    happens after the attack."""
    attackers = [t for t in topo.tenants if t.role is Role.ATTACKER]
    severities = {AttackKind.SSH_BRUTE_FORCE: Severity.MED, AttackKind.PORT_SCAN: Severity.HIGH}
    seen = [severities[a.kind] for a in topo.attacks] or [Severity.HIGH]
    mix = tuple((s, seen.count(s) / len(seen)) for s in sorted(set(seen)))
    behaviours = (Behaviour(Kind.TRAITOR, count=len(attackers), turn_at=topo.rounds, f=1.0),) \
        if attackers else ()
    blocked = [a for a in topo.attacks if a.kind is AttackKind.PORT_SCAN]  # to closed ports
    return Scenario(
        name=f"emu-{topo.name}",
        tenants=len(topo.tenants),
        epochs=epochs if epochs is not None else max(4 * topo.rounds, 10),
        seeds=seeds,
        models=models,
        behaviours=behaviours,
        traffic=Traffic(services_per_tenant=max(1, len(topo.tenants) - 1),
                        sessions_per_epoch=max(1, round(len(topo.talks) / len(topo.tenants))),
                        bytes_mean=1.0e6),
        sensors=Sensors(false_positive_rate=0.0, false_negative_rate=0.0,
                        severity=(("attack", mix),)),
        stack=SecurityStack(catch_rate=len(blocked) / len(topo.attacks) if topo.attacks
                            else 1.0),
        description=f"{topo.description} (from the emulated data center's topology)",
    )
