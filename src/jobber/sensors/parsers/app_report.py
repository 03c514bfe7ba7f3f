"""Reports from Jobber-aware applications (one JSON object) → ``app.report`` events. Pure.

An application that can tell a good peer from a bad one (a payment API seeing card testing, a
queue seeing malformed messages) says so directly::

    {"report": "jobber.app/1", "time": "2026-11-27T01:29:17Z", "app": "billing-api",
     "peer": {"address": "198.51.100.7", "port": 51544}, "local": {"address": "192.0.2.10",
     "port": 443}, "protocol": "tcp", "verdict": "MED", "confidence": 0.9,
     "reason": "card testing", "attributes": {"requests": 40}}

Invariants: ``report`` must be ``jobber.app/1``; ``time`` (POSIX seconds or ISO-8601), ``peer``
with an address, and ``verdict`` (``good``, ``LOW``, ``MED``, ``HIGH``) are required, else the line
is unparsed; ``good`` is severity POS; ``confidence`` is clamped to 0..1 and defaults to 1;
only scalar attributes are kept (strings, finite numbers, booleans, null), at most 32 of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from jobber.sensors.event import AttrValue, Endpoint, Event, Kind, loads
from jobber.sensors.parsers.base import (
    LineMeta,
    LineParser,
    Parsed,
    Unparsed,
    address,
    event_id,
    finite,
    port,
)
from jobber.sensors.parsers.syslog import iso_time
from jobber.types import Severity

REPORT_VERSION = "jobber.app/1"
_VERDICTS = {"good": Severity.POS, "LOW": Severity.LOW, "MED": Severity.MED, "HIGH": Severity.HIGH}
_MAX_ATTRIBUTES = 32
_MAX_TEXT = 256


class AppReportParser(LineParser):
    """JSON reports written by Jobber-aware applications (file, syslog or HTTP push)."""

    name: ClassVar[str] = "app-report"

    def read(self, text: str, meta: LineMeta) -> Parsed:
        report = loads(text)
        if not isinstance(report, dict):
            return Unparsed("app-report: a report must be a JSON object")
        if report.get("report") != REPORT_VERSION:
            return Unparsed(f"app-report: 'report' must be {REPORT_VERSION!r}")
        verdict = report.get("verdict")
        if not isinstance(verdict, str) or verdict not in _VERDICTS:
            return Unparsed("app-report: 'verdict' must be one of good, LOW, MED, HIGH")
        peer = _endpoint(report.get("peer"))
        if peer is None:
            return Unparsed("app-report: 'peer' must be an object with an address")
        stamp = report.get("time")
        if isinstance(stamp, str):
            when = iso_time(stamp)
        elif isinstance(stamp, int | float):
            when = finite(stamp)
        else:
            return Unparsed("app-report: 'time' is required (POSIX seconds or ISO-8601)")
        confidence = report.get("confidence", 1.0)
        confidence = (min(1.0, max(0.0, finite(confidence)))
                      if isinstance(confidence, int | float) else 1.0)
        protocol = report.get("protocol")
        return Event(
            id=event_id(meta, text),
            time=when,
            observed=meta.observed,
            reporter=meta.reporter,
            kind=Kind.APP_REPORT,
            severity=_VERDICTS[verdict],
            confidence=confidence,
            src=peer,
            dst=_endpoint(report.get("local")),
            protocol=protocol.lower()[:16] if isinstance(protocol, str) else None,
            attributes=_attributes(report),
            raw=text,
        )


def _endpoint(value: Any) -> Endpoint | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("address"), str):
        return None
    number = value.get("port")
    return Endpoint(address(value["address"]), port(number) if type(number) is int else None)


def _attributes(report: Mapping[str, Any]) -> dict[str, AttrValue]:
    attributes: dict[str, AttrValue] = {}
    for key in ("app", "reason"):
        if isinstance(report.get(key), str):
            attributes[key] = report[key][:_MAX_TEXT]
    extra = report.get("attributes")
    if not isinstance(extra, Mapping):
        return attributes
    for key, value in list(extra.items())[:_MAX_ATTRIBUTES]:
        if value is None or type(value) in (str, bool):
            attributes[str(key)] = value[:_MAX_TEXT] if isinstance(value, str) else value
        elif type(value) is int and -(2**63) <= value < 2**63:
            attributes[str(key)] = value
        elif type(value) is float:
            attributes[str(key)] = finite(value)
    return attributes
