"""The edge between a scenario YAML file and the core ``Scenario``.

Pydantic v2 models mirror the file; every model forbids unknown keys, so a typo is refused rather
than silently ignored. ``to_scenario`` is the one function that turns a validated file into core
values; ``load_scenario`` reads a file (or a shipped scenario by name) and raises ``ConfigError``
with one line naming the file, the key and what is wrong with it.

Invariants: nothing outside this module imports pydantic for scenarios; the checks that span
keys (shares summing to at most 1, each behaviour's attack kind having a severity mix, model
names being registered, policy overrides being coherent) are made here too, so a ``Scenario``
that exists is one the simulator can run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jobber.errors import ConfigError, PolicyError
from jobber.sim.scenario import (
    NONCOMPLIANT_MODES,
    Behaviour,
    Kind,
    Mix,
    Scenario,
    SecurityStack,
    Sensors,
    Traffic,
    resolve_path,
)
from jobber.trust.policy import DEFAULT_POLICY
from jobber.types import Severity

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
SeverityName = Literal["POS", "LOW", "MED", "HIGH"]
NegativeName = Literal["LOW", "MED", "HIGH"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Base(_Strict):
    share: Probability = 0.0
    attack: str = "attack"
    policy: dict[str, float | bool] = Field(default_factory=dict)


class HonestFile(_Base):
    kind: Literal["honest"]


class AttackerFile(_Base):
    kind: Literal["attacker"]


class CamouflageFile(_Base):
    kind: Literal["camouflage"]
    f: Probability = 0.5


class TraitorFile(_Base):
    kind: Literal["traitor"]
    turn_at: Annotated[int, Field(ge=0)] = 20
    f: Probability = 1.0


class OscillatorFile(_Base):
    kind: Literal["oscillator"]
    period: Annotated[int, Field(ge=2)] = 20
    bad_for: Annotated[int, Field(ge=1)] = 5
    f: Probability = 1.0

    @model_validator(mode="after")
    def _bad_within_period(self) -> OscillatorFile:
        if self.bad_for >= self.period:
            raise ValueError(f"bad_for={self.bad_for} must be less than period={self.period}")
        return self


class ColluderFile(_Base):
    kind: Literal["colluder"]
    ring_share: Probability = 0.5
    f: Probability = 0.5


class SlandererFile(_Base):
    kind: Literal["slanderer"]
    severity: NegativeName = "MED"


class WhitewasherFile(_Base):
    kind: Literal["whitewasher"]
    f: Probability = 1.0


class SybilFile(_Strict):
    kind: Literal["sybil"]
    count: Annotated[int, Field(ge=1)]
    at: Annotated[int, Field(ge=0)] = 0
    f: Probability = 1.0
    attack: str = "attack"
    policy: dict[str, float | bool] = Field(default_factory=dict)


class NoncompliantFile(_Base):
    kind: Literal["noncompliant"]
    mode: Literal["silent", "introduce_all", "accept_all"] = "silent"


BehaviourFile = Annotated[
    HonestFile | AttackerFile | CamouflageFile | TraitorFile | OscillatorFile | ColluderFile
    | SlandererFile | WhitewasherFile | SybilFile | NoncompliantFile,
    Field(discriminator="kind"),
]


class TrafficFile(_Strict):
    services_per_tenant: Annotated[int, Field(ge=1)] = 6
    zipf_exponent: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    sessions_per_epoch: Annotated[int, Field(ge=1)] = 3
    bytes_mean: Annotated[float, Field(gt=0.0)] = 1.0e6


def _low() -> dict[NegativeName, float]:
    return {"LOW": 1.0}


def _attack() -> dict[str, dict[NegativeName, float]]:
    return {"attack": {"MED": 0.3, "HIGH": 0.7}}


class SensorsFile(_Strict):
    false_positive_rate: Probability = 0.0
    false_negative_rate: Probability = 0.05
    false_positive_severity: dict[NegativeName, Probability] = Field(default_factory=_low)
    severity: dict[str, dict[NegativeName, Probability]] = Field(default_factory=_attack)


class SecurityStackFile(_Strict):
    catch_rate: Probability = 0.9
    cost_per_flow: Annotated[float, Field(ge=0.0)] = 1.0
    cost_per_byte: Annotated[float, Field(ge=0.0)] = 1.0e-6
    latency_ms: Annotated[float, Field(ge=0.0)] = 2.0


class ScenarioFile(_Strict):
    name: str
    description: str = ""
    tenants: Annotated[int, Field(ge=2, le=1_000_000)]
    epochs: Annotated[int, Field(ge=1)]
    seeds: Annotated[int, Field(ge=1)] = 5
    first_seed: int = 0
    models: list[str] = Field(min_length=1)
    behaviours: list[BehaviourFile] = Field(default_factory=list)
    traffic: TrafficFile = Field(default_factory=TrafficFile)
    sensors: SensorsFile = Field(default_factory=SensorsFile)
    security_stack: SecurityStackFile = Field(default_factory=SecurityStackFile)


def _mix(weights: Mapping[NegativeName, float], where: str) -> Mix:
    total = sum(weights.values())
    if not weights or not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(f"{where}: probabilities must sum to 1, not {total:g}")
    return tuple((Severity[name], p) for name, p in weights.items())


def _behaviour(spec: BehaviourFile, tenants: int, where: str) -> Behaviour:
    overrides = dict(spec.policy)
    if spec.kind == "noncompliant":
        overrides = {**NONCOMPLIANT_MODES[spec.mode], **overrides}
    try:
        DEFAULT_POLICY.with_overrides(overrides)
    except PolicyError as exc:
        raise ConfigError(f"{where}.policy: {str(exc).removeprefix('policy: ')}") from None
    fields: dict[str, Any] = {"attack": spec.attack, "overrides": tuple(spec.policy.items())}
    if isinstance(spec, SybilFile):
        fields.update(count=spec.count, at=spec.at, f=spec.f)
    else:
        fields["count"] = round(spec.share * tenants)
    for name in ("f", "turn_at", "period", "bad_for", "ring_share", "mode"):
        if name in type(spec).model_fields:
            fields[name] = getattr(spec, name)
    if isinstance(spec, SlandererFile):
        fields["slander"] = Severity[spec.severity]
    return Behaviour(kind=Kind(spec.kind), **fields)


def to_scenario(file: ScenarioFile) -> Scenario:
    """The core ``Scenario`` for a validated file, after the checks that span keys."""
    from jobber.trust.models import MODELS

    unknown = [m for m in file.models if m not in MODELS]
    if unknown:
        raise ConfigError(
            f"models: unknown model {unknown[0]!r} (known: {', '.join(sorted(MODELS))})"
        )
    shares = sum(b.share for b in file.behaviours if not isinstance(b, SybilFile))
    if shares > 1.0 + 1e-9:
        raise ConfigError(f"behaviours: shares add up to {shares:g}, more than 1")
    behaviours = tuple(
        _behaviour(spec, file.tenants, f"behaviours[{i}]")
        for i, spec in enumerate(file.behaviours)
    )
    for i, spec in enumerate(file.behaviours):
        if spec.attack not in file.sensors.severity:
            raise ConfigError(
                f"behaviours[{i}].attack: {spec.attack!r} has no severity mix in "
                f"sensors.severity (known: {', '.join(sorted(file.sensors.severity))})"
            )
    sensors = Sensors(
        false_positive_rate=file.sensors.false_positive_rate,
        false_negative_rate=file.sensors.false_negative_rate,
        false_positive_severity=_mix(
            file.sensors.false_positive_severity, "sensors.false_positive_severity"
        ),
        severity=tuple(
            (name, _mix(mix, f"sensors.severity.{name}"))
            for name, mix in sorted(file.sensors.severity.items())
        ),
    )
    return Scenario(
        name=file.name,
        description=file.description,
        tenants=file.tenants,
        epochs=file.epochs,
        seeds=file.seeds,
        first_seed=file.first_seed,
        models=tuple(file.models),
        behaviours=behaviours,
        traffic=Traffic(**file.traffic.model_dump()),
        sensors=sensors,
        stack=SecurityStack(**file.security_stack.model_dump()),
    )


def _describe(exc: ValidationError) -> str:
    """One line for the first error: the key's dotted path and what is wrong with it."""
    error = exc.errors()[0]
    parts: list[str] = []
    for item in error["loc"]:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts and parts[-1].startswith("[") and item in {k.value for k in Kind}:
            continue  # the union's tag: the kind is already in the value
        else:
            parts.append(f".{item}" if parts else str(item))
    key = "".join(parts) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    more = len(exc.errors()) - 1
    return f"{key}: {message}" + (f" (and {more} more problems)" if more else "")


def parse_scenario(data: object, source: str = "<scenario>") -> Scenario:
    """Validate already-parsed YAML ``data`` into a ``Scenario``."""
    if not isinstance(data, dict):
        raise ConfigError(f"scenario {source}: expected a mapping of keys at the top level")
    try:
        file = ScenarioFile.model_validate(data)
        return to_scenario(file)
    except ValidationError as exc:
        raise ConfigError(f"scenario {source}: {_describe(exc)}") from None
    except ConfigError as exc:
        raise ConfigError(f"scenario {source}: {exc}") from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read a scenario file, or a shipped one by name (``default``, ``camouflage`` …)."""
    path = resolve_path(str(name_or_path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        from jobber.sim.scenario import builtin_names

        raise ConfigError(
            f"scenario {str(name_or_path)!r}: no such file or shipped scenario "
            f"(shipped: {', '.join(builtin_names())})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"scenario {path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"scenario {path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    return parse_scenario(data, str(path))
