"""Rules turn events into verdicts: match, count over a sliding window, cool down. No I/O, no clock.

A rule says *which* events count (``Match``), *how many* within *how long* make a verdict
(``Threshold``, grouped by source address; either a count of events or a count of distinct values
of one field, such as ports or user names), *what* the verdict is, and how long to stay quiet
after one (``cooldown``). A rule may ``cancel`` other rules' windows for the same source (a
successful login forgets earlier failures) and ignore source prefixes. ``ruleset.py`` reads them
from YAML; this module runs them.

Invariants:

* the engine's only clock is the events' own ``time``: replaying a log gives the same verdicts
  whenever and however fast it is replayed;
* a window never holds more than ``threshold.count`` entries, and an idle group is forgotten
  (at the next sweep) once its window and cool-down have both passed; past ``MAX_GROUPS`` groups
  the least recently seen quarter goes: memory is bounded whatever the input;
* a verdict clears the window that caused it; during a cool-down matching events are dropped;
* a verdict names the source's tenant when the inventory knows it, else ``tenant is None`` (kept
  for the operator, never turned into feedback).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from jobber.inventory import Inventory
from jobber.sensors.event import AttrValue, Event, Kind
from jobber.types import Severity, TenantId

MAX_GROUPS = 100_000
"""Most source groups a rule keeps state for; the least recently seen go first."""

_SWEEP_EVERY = 8192  # events between sweeps of a rule's idle groups


@dataclass(frozen=True, slots=True)
class Match:
    """Which events a rule looks at; an absent condition matches everything."""

    kinds: frozenset[Kind] | None = None
    severity: Severity | None = None  # at least
    confidence: float | None = None  # at least
    protocols: frozenset[str] | None = None
    src_ports: frozenset[int] | None = None
    dst_ports: frozenset[int] | None = None
    attributes: tuple[tuple[str, frozenset[AttrValue]], ...] = ()

    def matches(self, event: Event) -> bool:
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.severity is not None and event.severity < self.severity:
            return False
        if self.confidence is not None and event.confidence < self.confidence:
            return False
        if self.protocols is not None and event.protocol not in self.protocols:
            return False
        if self.src_ports is not None and (event.src is None or event.src.port
                                           not in self.src_ports):
            return False
        if self.dst_ports is not None and (event.dst is None or event.dst.port
                                           not in self.dst_ports):
            return False
        attributes = event.attributes
        for key, allowed in self.attributes:
            if key not in attributes or attributes[key] not in allowed:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Threshold:
    """``count`` events (or distinct values of ``distinct``) within ``within`` seconds."""

    count: int
    within: float
    distinct: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: Match
    verdict: Severity | None  # None: the event's own severity (for app reports)
    threshold: Threshold | None = None
    cooldown: float = 0.0
    ignore: tuple[str, ...] = ()
    cancels: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's judgement of one source at one moment. ``severity`` POS means "good"."""

    time: float
    rule: str
    severity: Severity
    subject: str | None
    tenant: TenantId | None
    event_id: str
    count: int = 1

    def to_dict(self) -> dict[str, object]:
        return {"verdict": "good" if self.severity is Severity.POS else self.severity.name,
                "rule": self.rule, "time": self.time, "subject": self.subject,
                "tenant": self.tenant, "event": self.event_id, "count": self.count}


def field_value(event: Event, name: str) -> AttrValue:
    """An event field by the name rules use: src, src_port, dst, dst_port, protocol, kind,
    or else an attribute."""
    if name == "src":
        return None if event.src is None else event.src.address
    if name == "dst":
        return None if event.dst is None else event.dst.address
    if name == "src_port":
        return None if event.src is None else event.src.port
    if name == "dst_port":
        return None if event.dst is None else event.dst.port
    if name == "protocol":
        return event.protocol
    if name == "kind":
        return event.kind.value
    return event.attributes.get(name)


@dataclass(slots=True)
class _Group:
    """The window and cool-down of one rule for one source."""

    seen: float
    times: deque[float] = field(default_factory=deque)
    values: dict[AttrValue, float] = field(default_factory=dict)
    quiet_until: float = float("-inf")


class _RuleState:
    def __init__(self, rule: Rule, ignore: Inventory | None) -> None:
        self.rule = rule
        self.groups: dict[str, _Group] = {}
        self.ignore = ignore
        self.ticks = 0
        self.horizon = rule.cooldown + (rule.threshold.within if rule.threshold else 0.0)
        match = rule.match
        # The engine already sorted events by kind: a rule that asks nothing else skips matching.
        self.match = None if match == Match(kinds=match.kinds) else match

    def observe(self, event: Event, key: str) -> int:
        """Add a matching event; returns the count that fired a verdict, or 0."""
        now = event.time
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(now)
            if len(self.groups) > MAX_GROUPS:
                self._evict(now)
        elif now > group.seen:
            group.seen = now
        self.ticks += 1
        if self.ticks >= _SWEEP_EVERY:
            self._evict(now)
        if now < group.quiet_until:
            return 0
        threshold = self.rule.threshold
        if threshold is None:
            fired = 1
        elif threshold.distinct is None:  # the common case, inlined: count within the window
            times = group.times
            times.append(now)
            start = now - threshold.within
            while times[0] < start:
                times.popleft()
            fired = 0
            if len(times) >= threshold.count:
                times.clear()
                fired = threshold.count
        else:
            fired = _add_distinct(group, event, threshold)
        if fired:
            group.quiet_until = now + self.rule.cooldown
        return fired

    def forget(self, key: str) -> None:
        group = self.groups.get(key)
        if group is not None:
            group.times.clear()
            group.values.clear()

    def _evict(self, now: float) -> None:
        """Drop idle groups; if still too many, the least recently seen (amortised O(1))."""
        self.ticks = 0
        cutoff = now - self.horizon
        groups = self.groups
        for key in [key for key, group in groups.items() if group.seen < cutoff]:
            del groups[key]
        if len(groups) > MAX_GROUPS:
            by_age = sorted(groups, key=lambda key: groups[key].seen)
            for key in by_age[: len(groups) - MAX_GROUPS * 3 // 4]:
                del groups[key]


def _add_distinct(group: _Group, event: Event, threshold: Threshold) -> int:
    assert threshold.distinct is not None
    value = field_value(event, threshold.distinct)
    if value is None:
        return 0
    start = event.time - threshold.within
    values = group.values
    values[value] = max(event.time, values.get(value, event.time))
    if len(values) >= threshold.count:
        for stale in [key for key, seen in values.items() if seen < start]:
            del values[stale]
    if len(values) >= threshold.count:
        fired = len(values)
        values.clear()
        return fired
    return 0


class RuleEngine:
    """Runs a ``RuleSet`` over events in time order; one engine per stream of events."""

    def __init__(self, rules: RuleSet, inventory: Inventory | None = None) -> None:
        self.rules = rules
        self.inventory = inventory
        self._states = {rule.name: _RuleState(rule, _prefixes(rule.ignore)) for rule in rules.rules}
        self._ignore = _prefixes(rules.ignore)
        self._by_kind: dict[Kind, tuple[_RuleState, ...]] = {
            kind: tuple(state for state in self._states.values()
                        if state.rule.match.kinds is None or kind in state.rule.match.kinds)
            for kind in Kind
        }

    def observe(self, event: Event) -> list[Verdict]:
        """The verdicts this event completes (often none)."""
        states = self._by_kind[event.kind]
        if not states:
            return []
        subject = event.src.address if event.src is not None else None
        if subject is not None and self._ignore is not None and self._ignore.tenant_of(subject):
            return []
        key = subject or ""
        verdicts: list[Verdict] = []
        for state in states:
            rule = state.rule
            if state.match is not None and not state.match.matches(event):
                continue
            if state.ignore is not None and subject is not None and state.ignore.tenant_of(
                    subject):
                continue
            for cancelled in rule.cancels:
                self._states[cancelled].forget(key)
            fired = state.observe(event, key)
            if fired:
                verdicts.append(self._verdict(rule, event, subject, fired))
        return verdicts

    def _verdict(self, rule: Rule, event: Event, subject: str | None, fired: int) -> Verdict:
        tenant = None
        if subject is not None and self.inventory is not None:
            tenant = self.inventory.tenant_of(subject)
        severity = event.severity if rule.verdict is None else rule.verdict
        return Verdict(event.time, rule.name, severity, subject, tenant, event.id, fired)


def _prefixes(prefixes: tuple[str, ...]) -> Inventory | None:
    """Ignore lists reuse the inventory's longest-prefix table (one pseudo-tenant)."""
    if not prefixes:
        return None
    return Inventory((prefix, TenantId("ignored")) for prefix in prefixes)
