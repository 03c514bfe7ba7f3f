"""Zeek ``conn.log`` → ``net.flow`` and ``notice.log`` → ``ids.alert`` events, TSV or JSON.

Zeek writes either tab-separated values behind a header (``#separator``, ``#fields`` …) or one
JSON object a line. A parser object keeps the last header it saw; that is its only state, and
reading a data line is a pure function of the line and that header.

Invariants:

* a TSV data line before any ``#fields`` header, or with a different number of fields than the
  header names, is unparsed; header lines themselves yield nothing;
* ``-`` (unset) becomes "absent", ``(empty)`` becomes the empty string;
* ``ts`` is POSIX seconds, or an ISO-8601 string (``LogAscii::json_timestamps``);
* notice severity: ``CaptureLoss::`` notes are ``sensor.status`` events (the sensor is blind, not
  the peer bad); scans and password guessing are HIGH; ``Weird::`` and certificate notes LOW;
  other notes MED.
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
    count,
    event_id,
    finite,
    port,
    protocol_name,
)
from jobber.sensors.parsers.syslog import iso_time
from jobber.types import Severity

_MAX_FIELDS = 256
_HIGH_NOTES = ("Scan::Port_Scan", "Scan::Address_Scan", "SSH::Password_Guessing")
_LOW_PREFIXES = ("Weird::", "SSL::")
_CONN_COUNTS = ("orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "missed_bytes")
_CONN_TEXTS = ("uid", "service", "conn_state", "history")
_NOTICE_TEXTS = ("uid", "note", "msg", "sub", "actions")


class _ZeekParser(LineParser):
    """Header handling shared by the two Zeek logs."""

    def __init__(self) -> None:
        self._fields: tuple[str, ...] | None = None
        self._separator = "\t"
        self._unset = "-"
        self._empty = "(empty)"

    def read(self, text: str, meta: LineMeta) -> Parsed:
        if text.startswith("{"):
            record = loads(text)
            if not isinstance(record, dict):
                return Unparsed(f"{self.name}: a JSON line must be an object")
            return self.build(text, meta, record)
        if text.startswith("#"):
            self._header(text)
            return None
        if self._fields is None:
            return Unparsed(f"{self.name}: data line before any #fields header")
        values = text.split(self._separator, _MAX_FIELDS)
        if len(values) != len(self._fields):
            return Unparsed(f"{self.name}: {len(values)} values for {len(self._fields)} fields")
        tsv: dict[str, Any] = {}
        for key, value in zip(self._fields, values, strict=True):
            if value != self._unset:
                tsv[key] = "" if value == self._empty else value
        return self.build(text, meta, tsv)

    def _header(self, text: str) -> None:
        if text.startswith("#separator "):
            self._separator = _unescape(text[len("#separator "):]) or "\t"
            return
        key, _, rest = text.partition(self._separator)
        values = rest.split(self._separator, _MAX_FIELDS)
        if key == "#fields":
            self._fields = tuple(values)
        elif key == "#unset_field" and values:
            self._unset = values[0]
        elif key == "#empty_field" and values:
            self._empty = values[0]

    def build(self, text: str, meta: LineMeta, record: Mapping[str, Any]) -> Parsed:
        raise NotImplementedError


class ZeekConnParser(_ZeekParser):
    """``conn.log``: one flow record a line."""

    name: ClassVar[str] = "zeek-conn"

    def build(self, text: str, meta: LineMeta, record: Mapping[str, Any]) -> Parsed:
        attributes: dict[str, AttrValue] = {"log": "conn"}
        for key in _CONN_TEXTS:
            if isinstance(record.get(key), str):
                attributes[key] = record[key]
        for key in _CONN_COUNTS:
            if record.get(key) is not None:
                attributes[key] = count(record[key])
        if record.get("duration") is not None:
            attributes["duration"] = finite(record["duration"])
        return _event(text, meta, record, Kind.NET_FLOW, Severity.POS, attributes,
                      _endpoint(record, "id.orig_h", "id.orig_p"),
                      _endpoint(record, "id.resp_h", "id.resp_p"))


class ZeekNoticeParser(_ZeekParser):
    """``notice.log``: Zeek's own judgements (scans, guessing, weirds)."""

    name: ClassVar[str] = "zeek-notice"

    def build(self, text: str, meta: LineMeta, record: Mapping[str, Any]) -> Parsed:
        note = record.get("note")
        if not isinstance(note, str) or not note:
            return Unparsed("zeek-notice: no note")
        attributes: dict[str, AttrValue] = {"log": "notice"}
        for key in _NOTICE_TEXTS:
            value = record.get(key)
            if isinstance(value, str):
                attributes[key] = value
            elif isinstance(value, list):
                attributes[key] = ",".join(str(item) for item in value)
        src = _endpoint(record, "src", "id.orig_p") or _endpoint(record, "id.orig_h", "id.orig_p")
        dst = _endpoint(record, "dst", "p") or _endpoint(record, "id.resp_h", "id.resp_p")
        kind, severity = _notice_kind(note)
        return _event(text, meta, record, kind, severity, attributes, src, dst)


def _notice_kind(note: str) -> tuple[Kind, Severity]:
    if note.startswith("CaptureLoss::"):
        return Kind.SENSOR_STATUS, Severity.LOW
    if note in _HIGH_NOTES:
        return Kind.IDS_ALERT, Severity.HIGH
    if note.startswith(_LOW_PREFIXES):
        return Kind.IDS_ALERT, Severity.LOW
    return Kind.IDS_ALERT, Severity.MED


def _endpoint(record: Mapping[str, Any], ip_key: str, port_key: str) -> Endpoint | None:
    ip = record.get(ip_key)
    if not isinstance(ip, str) or not ip:
        return None
    number = record.get(port_key)
    return Endpoint(address(ip), port(number) if isinstance(number, str | int) else None)


def _event(text: str, meta: LineMeta, record: Mapping[str, Any], kind: Kind, severity: Severity,
           attributes: dict[str, AttrValue], src: Endpoint | None,
           dst: Endpoint | None) -> Event:
    stamp = record.get("ts")
    if stamp is None:
        raise ValueError("no ts")
    when = iso_time(stamp) if isinstance(stamp, str) and "-" in stamp else finite(stamp)
    proto = record.get("proto")
    return Event(
        id=event_id(meta, text),
        time=when,
        observed=meta.observed,
        reporter=meta.reporter,
        kind=kind,
        severity=severity,
        src=src,
        dst=dst,
        protocol=protocol_name(proto) if isinstance(proto, str) and proto else None,
        attributes=attributes,
        raw=text,
    )


def _unescape(text: str) -> str:
    r"""Zeek writes its separator escaped (``\x09``)."""
    if text.startswith("\\x") and len(text) == 4:
        return chr(int(text[2:], 16))
    return text
