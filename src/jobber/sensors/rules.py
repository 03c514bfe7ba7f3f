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

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

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


@dataclass(frozen=True, slots=True, init=False)
class Verdict:
    """One rule's judgement of one source at one moment. ``severity`` POS means "good"."""

    time: float
    rule: str
    severity: Severity
    subject: str | None
    tenant: TenantId | None
    event_id: str
    count: int = 1

    def __init__(self, time: float, rule: str, severity: Severity, subject: str | None,
                 tenant: TenantId | None, event_id: str, count: int = 1) -> None:
        # Written out, as Event's is: the generated frozen __init__ calls object.__setattr__
        # per field, twice the cost, and a brute force makes a verdict every few lines.
        _set_time(self, time)
        _set_rule(self, rule)
        _set_severity(self, severity)
        _set_subject(self, subject)
        _set_tenant(self, tenant)
        _set_event_id(self, event_id)
        _set_count(self, count)

    def to_dict(self) -> dict[str, object]:
        return {"verdict": "good" if self.severity is Severity.POS else self.severity.name,
                "rule": self.rule, "time": self.time, "subject": self.subject,
                "tenant": self.tenant, "event": self.event_id, "count": self.count}


# The slots' own setters: they bypass the frozen __setattr__, and only __init__ uses them.
_set_time, _set_rule, _set_severity, _set_subject, _set_tenant, _set_event_id, _set_count = (
    vars(Verdict)[name].__set__
    for name in ("time", "rule", "severity", "subject", "tenant", "event_id", "count"))


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


class _Group:
    """The window and cool-down of one rule for one source (a window of times or of values)."""

    __slots__ = ("quiet_until", "seen", "times", "values")

    def __init__(self, seen: float, times: deque[float] | None,
                 values: dict[AttrValue, float] | None) -> None:
        self.seen = seen
        self.times = times
        self.values = values
        self.quiet_until = -math.inf


_EVENT_FIELDS = frozenset({"src", "dst", "src_port", "dst_port", "protocol", "kind"})
_MISSING = object()


class _RuleState:
    """One rule's groups, and the rule's settings unpacked for ``observe``, the hot path."""

    def __init__(self, rule: Rule, ignore: Inventory | None) -> None:
        self.rule = rule
        self.groups: dict[str, _Group] = {}
        self.ignore = ignore
        self.ticks = 0
        self.horizon = rule.cooldown + (rule.threshold.within if rule.threshold else 0.0)
        self.cooldown = rule.cooldown
        self.cancelled: tuple[_RuleState, ...] = ()  # set by the engine
        self.guarded = ignore is not None  # ... or cancels: set by the engine
        threshold = rule.threshold
        self.count = 0 if threshold is None else threshold.count
        self.within = 0.0 if threshold is None else threshold.within
        self.counts_events = threshold is not None and threshold.distinct is None
        distinct = None if threshold is None else threshold.distinct
        self.value_of = None if distinct is None else _getter(distinct)
        # most distinct counts are of an attribute (``user``): read it without a call
        self.attribute = None if distinct in _EVENT_FIELDS else distinct

    def new_group(self, key: str, now: float) -> _Group:
        group = self.groups[key] = _Group(now, deque() if self.counts_events else None,
                                          {} if self.value_of is not None else None)
        if len(self.groups) > MAX_GROUPS:
            self.evict(now)
        return group

    def settle(self, values: dict[AttrValue, float], now: float) -> int:
        """A distinct-values window that holds ``count`` values or more: drop the stale ones,
        and if ``count`` remain, empty it and return how many fired (else 0)."""
        start = now - self.within
        for stale in [key for key, seen in values.items() if seen < start]:
            del values[stale]
        if len(values) >= self.count:
            fired = len(values)
            values.clear()
            return fired
        return 0

    def forget(self, key: str) -> None:
        group = self.groups.get(key)
        if group is not None:
            if group.times:
                group.times.clear()
            if group.values:
                group.values.clear()

    def evict(self, now: float) -> None:
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


def _getter(name: str) -> Callable[[Event], AttrValue]:
    """``field_value`` for one name."""
    return lambda event: field_value(event, name)


def _rest(match: Match) -> Callable[[Event], bool] | None:
    """The test of a run's rarer conditions (protocol, ports), ``None`` when it has none."""
    if match.protocols is None and match.src_ports is None and match.dst_ports is None:
        return None
    return Match(protocols=match.protocols, src_ports=match.src_ports,
                 dst_ports=match.dst_ports).matches


class RuleEngine:
    """Runs a ``RuleSet`` over events in time order; one engine per stream of events.

    For each kind the engine keeps the rules that can match it, in file order, with adjacent
    rules of the same conditions tested once (the SSH defaults share theirs).
    """

    def __init__(self, rules: RuleSet, inventory: Inventory | None = None) -> None:
        self.rules = rules
        self.inventory = inventory
        self._states = {rule.name: _RuleState(rule, _prefixes(rule.ignore)) for rule in rules.rules}
        for state in self._states.values():
            state.cancelled = tuple(self._states[name] for name in state.rule.cancels)
            state.guarded = state.ignore is not None or bool(state.cancelled)
        self._ignore = _prefixes(rules.ignore)
        self._plans = {kind: _plan([state for state in self._states.values()
                                    if state.rule.match.kinds is None
                                    or kind in state.rule.match.kinds])
                       for kind in Kind}

    def observe(self, event: Event) -> list[Verdict]:
        """The verdicts this event completes (often none)."""
        plan = self._plans[event.kind]
        if not plan:
            return []
        src = event.src
        subject = None if src is None else src.address
        if subject is not None and self._ignore is not None and self._ignore.tenant_of(subject):
            return []
        key = subject or ""
        now = event.time
        verdicts: list[Verdict] = []
        for severity, confidence, attributes, rest, states in plan:
            # The run's conditions, tested here rather than by a function per run: a call costs
            # more than the comparisons, and most events meet two or three runs. Each condition
            # is written as ``Match.matches`` writes it (``a < b``, never ``a >= b``).
            if severity is not None and event.severity < severity:
                continue
            if confidence is not None and event.confidence < confidence:
                continue
            if attributes:
                values = event.attributes
                for name, allowed in attributes:
                    if values.get(name, _MISSING) not in allowed:
                        break
                else:
                    attributes = ()
                if attributes:
                    continue
            if rest is not None and not rest(event):
                continue
            for state in states:
                if state.guarded:  # an ignore list or cancels: one test for both, rarely true
                    if state.ignore is not None and subject is not None and (
                            state.ignore.tenant_of(subject)):
                        continue
                    for cancelled in state.cancelled:
                        cancelled.forget(key)
                # One rule's step, inlined (the hot path): find the source's group, count the
                # event in its window, fire at the threshold, then stay quiet for the cool-down.
                group = state.groups.get(key)
                if group is None:
                    group = state.new_group(key, now)
                elif now > group.seen:
                    group.seen = now
                state.ticks += 1
                if state.ticks >= _SWEEP_EVERY:
                    state.evict(now)
                if now < group.quiet_until:
                    continue
                times = group.times
                if times is not None:  # a count of events within the window: the common case
                    times.append(now)
                    start = now - state.within
                    while times[0] < start:
                        times.popleft()
                    if len(times) < state.count:
                        continue
                    times.clear()
                    fired = state.count
                elif group.values is not None:
                    # A count of distinct values: record the event's value, inline; only a
                    # window that reaches ``count`` calls ``settle`` (purge, maybe fire). A
                    # window holding stale values from earlier sessions reaches it often, so
                    # the test is on the window itself, not on the value being new.
                    window = group.values
                    attribute = state.attribute
                    if attribute is not None:
                        value = event.attributes.get(attribute)
                    else:
                        value = state.value_of(event)  # type: ignore[misc]  # distinct: set
                    if value is None:
                        continue
                    seen = window.get(value)
                    if seen is None or now > seen:
                        window[value] = now
                    if len(window) < state.count:
                        continue
                    fired = state.settle(window, now)
                    if not fired:
                        continue
                else:
                    fired = 1
                group.quiet_until = now + state.cooldown
                verdicts.append(self._verdict(state.rule, event, subject, fired))
        return verdicts

    def _verdict(self, rule: Rule, event: Event, subject: str | None, fired: int) -> Verdict:
        tenant = None
        if subject is not None and self.inventory is not None:
            tenant = self.inventory.tenant_of(subject)
        severity = event.severity if rule.verdict is None else rule.verdict
        return Verdict(event.time, rule.name, severity, subject, tenant, event.id, fired)


_Run = tuple[Severity | None, float | None, tuple[tuple[str, frozenset[AttrValue]], ...],
             Callable[[Event], bool] | None, tuple[_RuleState, ...]]
_Plan = tuple[_Run, ...]


def _plan(states: list[_RuleState]) -> _Plan:
    """Runs of adjacent rules with the same conditions (kinds aside), each with its conditions
    unpacked: (severity, confidence, attributes, the rest as a test, the rules' states)."""
    runs: list[tuple[Match, list[_RuleState]]] = []
    for state in states:
        conditions = replace(state.rule.match, kinds=None)
        if runs and runs[-1][0] == conditions:
            runs[-1][1].append(state)
        else:
            runs.append((conditions, [state]))
    return tuple((conditions.severity, conditions.confidence, conditions.attributes,
                  _rest(conditions), tuple(run)) for conditions, run in runs)


def _prefixes(prefixes: tuple[str, ...]) -> Inventory | None:
    """Ignore lists reuse the inventory's longest-prefix table (one pseudo-tenant)."""
    if not prefixes:
        return None
    return Inventory((prefix, TenantId("ignored")) for prefix in prefixes)
