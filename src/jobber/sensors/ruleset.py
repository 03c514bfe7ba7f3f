"""Rules files (YAML) → ``RuleSet``; the packaged defaults. The edge between operators and rules.

A rules file is a list of rules and an optional global ignore list::

    ignore: [192.0.2.0/28]            # never judge these sources (monitoring, jump hosts)
    rules:
      - name: ssh-brute-force
        match: {kind: auth.failure, confidence: 0.9}
        threshold: {count: 5, within: 600}
        verdict: MED
        cooldown: 600
      - name: ssh-login
        match: {kind: auth.success}
        verdict: good
        cancels: [ssh-brute-force]

Invariants: unknown keys are refused; every message names the file, the rule (by name and
position) and the key; nothing in a file is evaluated as code; ``cancels`` may only name rules
of the same file; rule names are unique. The pydantic models here never leave this module:
``load_rules`` returns the frozen core types of ``rules.py``.
"""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jobber.errors import ConfigError
from jobber.sensors.event import AttrValue, Kind
from jobber.sensors.rules import Match, Rule, RuleSet, Threshold
from jobber.types import Severity

DEFAULT_RULES = "default_rules.yaml"
_VERDICTS = {"good": Severity.POS, "LOW": Severity.LOW, "MED": Severity.MED,
             "HIGH": Severity.HIGH, "event": None}

Scalar = str | int | float | bool


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _MatchModel(_Strict):
    kind: list[str] | None = None
    severity: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    protocol: list[str] | None = None
    src_port: list[int] | None = None
    dst_port: list[int] | None = None
    attributes: dict[str, list[Scalar]] = Field(default_factory=dict)

    _lists = field_validator("kind", "protocol", "src_port", "dst_port", mode="before")(_as_list)

    @field_validator("attributes", mode="before")
    @classmethod
    def _attribute_lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _as_list(item) for key, item in value.items()}
        return value

    @field_validator("src_port", "dst_port")
    @classmethod
    def _ports(cls, value: list[int] | None) -> list[int] | None:
        for number in value or ():
            if not 0 <= number <= 65535:
                raise ValueError(f"port {number} is not 0..65535")
        return value


class _ThresholdModel(_Strict):
    count: int = Field(ge=1, le=100_000)
    within: float = Field(gt=0)
    distinct: str | None = None


class _RuleModel(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    match: _MatchModel = Field(default_factory=_MatchModel)
    threshold: _ThresholdModel | None = None
    verdict: str
    cooldown: float = Field(default=0.0, ge=0)
    ignore: list[str] = Field(default_factory=list)
    cancels: list[str] = Field(default_factory=list)


class _RulesFile(_Strict):
    ignore: list[str] = Field(default_factory=list)
    rules: list[_RuleModel]


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"rules file {path}: cannot read: {exc.strerror}") from exc
    return parse_rules(text, where=f"rules file {path}")


def default_rules() -> RuleSet:
    """The packaged rules an operator can use as they are (``default_rules.yaml``)."""
    text = resources.files("jobber.sensors").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
    return parse_rules(text, where=f"packaged {DEFAULT_RULES}")


def parse_rules(text: str, where: str = "rules") -> RuleSet:
    """Validate rules given as YAML text; ``ConfigError`` names the rule and the key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not YAML: {exc}") from exc
    try:
        model = _RulesFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, data, where)) from None
    names = [rule.name for rule in model.rules]
    rules = tuple(_rule(rule, index, names, where) for index, rule in enumerate(model.rules))
    return RuleSet(rules, _prefixes(model.ignore, f"{where}: ignore"))


def _describe(exc: ValidationError, data: Any, where: str) -> str:
    errors = exc.errors()
    # an unknown key explains the "field required" that usually comes with it (a typo)
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = list(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        name = _rule_name(data, index)
        key = ".".join(str(part) for part in loc[2:]) or "(rule)"
        return f"{where}: rule {name!r} (#{index + 1}): {key}: {message}"
    key = ".".join(str(part) for part in loc) or "(top)"
    return f"{where}: {key}: {message} (a rules file has 'rules:' and optionally 'ignore:')"


def _rule_name(data: Any, index: int) -> str:
    try:
        return str(data["rules"][index]["name"])
    except (KeyError, IndexError, TypeError):
        return "?"


def _rule(model: _RuleModel, index: int, names: list[str], where: str) -> Rule:
    here = f"{where}: rule {model.name!r} (#{index + 1})"
    if names.count(model.name) > 1:
        raise ConfigError(f"{here}: name: another rule has the same name")
    if model.verdict not in _VERDICTS:
        raise ConfigError(f"{here}: verdict: {model.verdict!r} is not one of "
                          f"{', '.join(_VERDICTS)}")
    for cancelled in model.cancels:
        if cancelled not in names:
            raise ConfigError(f"{here}: cancels: no rule named {cancelled!r} in this file")
    threshold = None
    if model.threshold is not None:
        threshold = Threshold(model.threshold.count, model.threshold.within,
                              model.threshold.distinct)
    return Rule(
        name=model.name,
        match=_match(model.match, here),
        verdict=_VERDICTS[model.verdict],
        threshold=threshold,
        cooldown=model.cooldown,
        ignore=_prefixes(model.ignore, f"{here}: ignore"),
        cancels=tuple(model.cancels),
        description=model.description,
    )


def _match(model: _MatchModel, here: str) -> Match:
    kinds = None
    if model.kind is not None:
        known = {kind.value: kind for kind in Kind}
        for name in model.kind:
            if name not in known:
                raise ConfigError(f"{here}: match.kind: unknown kind {name!r} "
                                  f"(known: {', '.join(known)})")
        kinds = frozenset(known[name] for name in model.kind)
    severity = None
    if model.severity is not None:
        try:
            severity = Severity.parse(model.severity)
        except ConfigError as exc:
            raise ConfigError(f"{here}: match.severity: {exc}") from None
    attributes: tuple[tuple[str, frozenset[AttrValue]], ...] = tuple(
        (key, frozenset(values)) for key, values in sorted(model.attributes.items()))
    return Match(
        kinds=kinds,
        severity=severity,
        confidence=model.confidence,
        protocols=None if model.protocol is None else frozenset(p.lower() for p in model.protocol),
        src_ports=None if model.src_port is None else frozenset(model.src_port),
        dst_ports=None if model.dst_port is None else frozenset(model.dst_port),
        attributes=attributes,
    )


def _prefixes(prefixes: list[str], here: str) -> tuple[str, ...]:
    for prefix in prefixes:
        try:
            ipaddress.ip_network(prefix)
        except ValueError as exc:
            raise ConfigError(f"{here}: {prefix!r} is not an address prefix ({exc})") from None
    return tuple(prefixes)
