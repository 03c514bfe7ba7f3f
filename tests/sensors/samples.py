"""Reading the annotated sample logs (fail2ban style) shared by the sample and fuzz tests.

A sample file is named after its format (``samples/<format>.log``). Every data line is preceded
by its expected result: ``# failJSON: {...}`` (the fields that must match), ``# ignore`` (the line
yields nothing) or ``# unparsed`` (the line is counted as unreadable). Lines starting ``##`` are
notes. A data line without an annotation is an error in the sample file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jobber.sensors.event import Event

SAMPLES = Path(__file__).parent / "samples"
OBSERVED = 1795824000.0  # 2026-11-28T00:00:00Z
UNPARSED = "unparsed"


@dataclass(frozen=True)
class Case:
    fmt: str
    lineno: int
    line: str
    expect: dict[str, Any] | str | None  # fields, UNPARSED, or None for "ignore"
    preceding: tuple[str, ...]  # earlier data lines of the file (headers set parser state)

    @property
    def id(self) -> str:
        return f"{self.fmt}:{self.lineno}"


def load_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    data_lines: list[str] = []
    pending: tuple[bool, dict[str, Any] | str | None] = (False, None)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("##"):
            continue
        if line.startswith("# failJSON: "):
            pending = (True, json.loads(line[len("# failJSON: "):]))
            continue
        if line == "# ignore":
            pending = (True, None)
            continue
        if line == "# unparsed":
            pending = (True, UNPARSED)
            continue
        annotated, expect = pending
        if not annotated:
            raise AssertionError(f"{path.name}:{lineno}: data line without an annotation")
        cases.append(Case(path.stem, lineno, line, expect, tuple(data_lines)))
        data_lines.append(line)
        pending = (False, None)
    return cases


def all_cases() -> list[Case]:
    return [case for path in sorted(SAMPLES.glob("*.log")) for case in load_cases(path)]


def field(event: Event, name: str) -> Any:
    """An event's field by the name the annotations use."""
    if name == "kind":
        return event.kind.value
    if name == "severity":
        return event.severity.name
    if name in ("src", "dst"):
        endpoint = getattr(event, name)
        return None if endpoint is None else endpoint.address
    if name in ("src_port", "dst_port"):
        endpoint = getattr(event, name[:3])
        return None if endpoint is None else endpoint.port
    if name in ("confidence", "protocol", "time", "observed", "reporter"):
        return getattr(event, name)
    return event.attributes.get(name)


def mismatches(event: Event, expect: dict[str, Any]) -> list[str]:
    problems = []
    for name, want in expect.items():
        got = field(event, name)
        if name == "time":
            want_time = datetime.fromisoformat(want).timestamp() if isinstance(want, str) else want
            if abs(got - want_time) > 1e-6:
                problems.append(f"time: got {got} want {want_time} ({want})")
        elif got != want or (type(got) is not type(want) and not (
                isinstance(got, int | float) and isinstance(want, int | float)
                and not isinstance(got, bool) and not isinstance(want, bool))):
            problems.append(f"{name}: got {got!r} want {want!r}")
    return problems
