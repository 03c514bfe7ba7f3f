"""A simulation scenario as frozen core values, and where scenario files are found.

A ``Scenario`` says everything a run needs besides the seed and the trust model: how many
tenants there are and how they behave (``Behaviour``, a mix by share), who calls whom
(``Traffic``), how well the tenants' sensors see misbehaviour (``Sensors``), what the security
stack catches and costs (``SecurityStack``), how many epochs and seeds, and which models to run.

Invariants: every value here was checked when its file was read (``jobber.sim.scenario_file``
is the only edge that builds one from YAML); a scenario is immutable, so runs in other processes
can share it by pickling; probabilities lie in [0, 1] and every severity mix sums to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path

from jobber.types import Severity


class Kind(StrEnum):
    """What a tenant does (DESIGN.md §2.6): one behaviour per tenant."""

    HONEST = "honest"
    ATTACKER = "attacker"  # naive: every interaction it opens is an attack
    CAMOUFLAGE = "camouflage"  # an attack with probability f, honest otherwise
    TRAITOR = "traitor"  # honest for turn_at epochs, then attacks with probability f
    OSCILLATOR = "oscillator"  # honest, then bad for bad_for epochs of every period
    COLLUDER = "colluder"  # a ring: call and praise each other, attack outsiders
    SLANDERER = "slanderer"  # honest traffic, false negative feedback about its peers
    WHITEWASHER = "whitewasher"  # attacks; rejoins under a new id once denied or revoked
    SYBIL = "sybil"  # count new accounts join at epoch `at` and attack
    NONCOMPLIANT = "noncompliant"  # honest traffic, breaks the protocol (see NONCOMPLIANT_MODES)


MALICIOUS_KINDS = frozenset(
    {Kind.ATTACKER, Kind.CAMOUFLAGE, Kind.TRAITOR, Kind.OSCILLATOR, Kind.COLLUDER,
     Kind.WHITEWASHER, Kind.SYBIL}
)
"""Kinds that open malicious interactions: their links are the 'victim links' of the metrics."""

NONCOMPLIANT_MODES: dict[str, dict[str, float | bool]] = {
    "silent": {},  # never gives feedback: handled by the simulator, not by the policy
    "introduce_all": {"theta_intro": 0.0, "n_intro": 0},
    # Always accepting means never dropping either: Policy.check wants drop ≤ accept.
    "accept_all": {"theta_accept": 0.0, "theta_drop": 0.0, "theta_block": 0.0},
}
"""Policy overrides that make a tenant break the protocol in each non-compliant mode."""

Mix = tuple[tuple[Severity, float], ...]
"""A severity distribution: (severity, probability) pairs summing to 1."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One entry of the behaviour mix; the parameters a kind does not use keep their defaults."""

    kind: Kind
    count: int  # tenants with this behaviour (resolved from the share, or the sybil count)
    f: float = 1.0  # probability that an interaction in a bad phase is an attack
    turn_at: int = 0  # traitor: first epoch of the bad phase
    period: int = 2  # oscillator
    bad_for: int = 1  # oscillator: bad epochs at the end of every period
    ring_share: float = 0.5  # colluder: share of sessions that go to ring peers
    at: int = 0  # sybil: the epoch the accounts join
    mode: str = "silent"  # noncompliant
    slander: Severity = Severity.MED  # slanderer: the severity of its false reports
    attack: str = "attack"  # kind of misbehaviour: picks the sensors' severity mix
    overrides: tuple[tuple[str, float | bool], ...] = ()  # the tenant's own policy changes

    def policy_overrides(self) -> dict[str, float | bool]:
        """What the tenant changes in its own trust policy when it joins."""
        merged: dict[str, float | bool] = {}
        if self.kind is Kind.NONCOMPLIANT:
            merged.update(NONCOMPLIANT_MODES[self.mode])
        merged.update(self.overrides)
        return merged


@dataclass(frozen=True, slots=True)
class Traffic:
    """Who calls whom: each tenant consumes a few services picked by Zipf popularity."""

    services_per_tenant: int = 6
    zipf_exponent: float = 1.0
    sessions_per_epoch: int = 3  # interactions each active tenant opens per epoch
    bytes_mean: float = 1.0e6  # exponential flow sizes


@dataclass(frozen=True, slots=True)
class Sensors:
    """What the tenants' sensors see: misses, false alarms, and how severe a true alarm is."""

    false_positive_rate: float = 0.0
    false_negative_rate: float = 0.05
    false_positive_severity: Mix = ((Severity.LOW, 1.0),)
    severity: tuple[tuple[str, Mix], ...] = (
        ("attack", ((Severity.MED, 0.3), (Severity.HIGH, 0.7))),
    )

    def mix(self, attack: str) -> Mix:
        for name, mix in self.severity:
            if name == attack:
                return mix
        raise KeyError(attack)


@dataclass(frozen=True, slots=True)
class SecurityStack:
    """The inspection path: what it catches, what one inspected flow costs, what it adds."""

    catch_rate: float = 0.9
    cost_per_flow: float = 1.0
    cost_per_byte: float = 1.0e-6
    latency_ms: float = 2.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one simulation needs besides the seed and the trust model."""

    name: str
    tenants: int
    epochs: int
    seeds: int
    models: tuple[str, ...]
    behaviours: tuple[Behaviour, ...] = ()
    traffic: Traffic = field(default_factory=Traffic)
    sensors: Sensors = field(default_factory=Sensors)
    stack: SecurityStack = field(default_factory=SecurityStack)
    first_seed: int = 0
    description: str = ""

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple(range(self.first_seed, self.first_seed + self.seeds))

    def with_changes(
        self,
        *,
        epochs: int | None = None,
        seeds: int | None = None,
        models: tuple[str, ...] | None = None,
    ) -> Scenario:
        """A copy with command-line changes applied (``None`` keeps the file's value)."""
        return replace(
            self,
            epochs=self.epochs if epochs is None else epochs,
            seeds=self.seeds if seeds is None else seeds,
            models=self.models if models is None else models,
        )


def builtin_dir() -> Path:
    """The directory of the scenarios shipped with Jobber (package data)."""
    return Path(str(resources.files("jobber") / "scenarios"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def resolve_path(name_or_path: str) -> Path:
    """A file path as given, or the shipped scenario of that name (``camouflage``)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    return builtin_dir() / f"{name_or_path}.yaml"
