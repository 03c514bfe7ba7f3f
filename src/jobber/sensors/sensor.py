"""A sensor: one parser and one rule engine fed lines from one source, with an honest tally.

``Sensor.feed`` is what every driver calls — the replay command, the file follower, the syslog
listener, the benchmark — so they all count the same way. It does no I/O.

Invariants: every line fed is counted exactly once, as an event, as ignored, or as unparsed;
unparsed lines are never raised, and the tally keeps the most frequent reasons (at most
``MAX_REASONS`` distinct ones, the rest summed under "other") with one example line each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from jobber.sensors.event import Event
from jobber.sensors.parsers import LineMeta, LineParser, Parsed, Unparsed
from jobber.sensors.parsers.base import READ_ERRORS
from jobber.sensors.rules import RuleEngine, Verdict
from jobber.types import TenantId

MAX_REASONS = 20
_new_meta = tuple.__new__
_EXAMPLE_MAX = 200


@dataclass(slots=True)
class Tally:
    """How many lines a sensor read, and what became of them."""

    lines: int = 0
    events: int = 0
    ignored: int = 0
    unparsed: int = 0
    verdicts: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def count_unparsed(self, reason: str, line: str | bytes) -> None:
        self.unparsed += 1
        key = reason if reason in self.reasons or len(self.reasons) < MAX_REASONS else "other"
        self.reasons[key] += 1
        if key not in self.examples:
            text = line if isinstance(line, str) else line.decode("utf-8", "replace")
            self.examples[key] = text.rstrip("\r\n")[:_EXAMPLE_MAX]

    def to_dict(self) -> dict[str, object]:
        return {"lines": self.lines, "events": self.events, "ignored": self.ignored,
                "unparsed": self.unparsed, "verdicts": self.verdicts,
                "unparsed_reasons": dict(self.reasons.most_common())}


class Sensor:
    """Lines in; events and verdicts out."""

    def __init__(self, parser: LineParser, engine: RuleEngine | None, reporter: TenantId,
                 origin: str = "") -> None:
        self.parser = parser
        self.engine = engine
        self.reporter = reporter
        self.origin = origin
        self.tally = Tally()

    def feed(self, line: str | bytes, observed: float,
             offset: int | None = None) -> tuple[Event | None, list[Verdict]]:
        """Parse one line (``offset`` defaults to the line number) and run the rules on it."""
        tally = self.tally
        tally.lines += 1
        # tuple.__new__: a NamedTuple's own __new__ is a Python function, a call frame per line
        meta = _new_meta(LineMeta, (self.reporter, observed, self.origin,
                                    tally.lines if offset is None else offset))
        # LineParser.parse, inlined: one call frame less on every line.
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        text = text.rstrip("\r\n")
        if not text or text.isspace():
            result: Parsed = None
        else:
            try:
                result = self.parser.read(text, meta)
            except READ_ERRORS as exc:
                result = Unparsed(f"{self.parser.name}: {type(exc).__name__}: {exc}"[:200])
        if type(result) is not Event:
            if result is None:
                tally.ignored += 1
            else:
                tally.count_unparsed(result.reason, line)  # type: ignore[union-attr]
            return None, []
        tally.events += 1
        if self.engine is None:
            return result, []
        verdicts = self.engine.observe(result)
        if verdicts:  # most events complete none
            tally.verdicts += len(verdicts)
        return result, verdicts
