"""Suricata EVE JSON (``eve.json``, one object a line) → ``ids.alert``, ``net.flow``,
``ids.anomaly`` events. Pure.

======================  =============  ================================================
``event_type``          kind           severity
======================  =============  ================================================
alert                   ids.alert      Suricata 1 → HIGH, 2 → MED, 3 and up → LOW
flow                    net.flow       POS (the rules decide what a flow means)
anomaly                 ids.anomaly    LOW
anything else           (ignored)      dns, http, tls, stats … say nothing about trust
======================  =============  ================================================

Invariants: a line that is not a JSON object, or an alert/flow/anomaly without a timestamp, is
unparsed; an alert whose ``action`` is ``blocked`` keeps kind ``ids.alert`` and says so in the
``action`` attribute; addresses are normalised (IPv4-mapped IPv6 becomes IPv4).
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
    port,
    protocol_name,
)
from jobber.sensors.parsers.syslog import iso_time
from jobber.types import Severity

_ALERT_SEVERITY = {1: Severity.HIGH, 2: Severity.MED}
_FLOW_NUMBERS = ("pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient", "age")
_FLOW_TEXTS = ("state", "reason")


class SuricataParser(LineParser):
    """Suricata's EVE JSON output, types alert, flow and anomaly."""

    name: ClassVar[str] = "suricata"

    def read(self, text: str, meta: LineMeta) -> Parsed:
        record = loads(text)
        if not isinstance(record, dict):
            return Unparsed("suricata: an EVE line must be a JSON object")
        event_type = record.get("event_type")
        if event_type == "alert":
            return _alert(text, meta, record)
        if event_type == "flow":
            return _flow(text, meta, record)
        if event_type == "anomaly":
            return _anomaly(text, meta, record)
        if not isinstance(event_type, str):
            return Unparsed("suricata: no event_type")
        return None


def _alert(text: str, meta: LineMeta, record: dict[str, Any]) -> Event:
    alert = _section(record, "alert")
    level = alert.get("severity", 3)
    if type(level) is not int:
        raise ValueError(f"alert severity {level!r} is not a number")
    attributes: dict[str, AttrValue] = {"event_type": "alert"}
    _copy(alert, attributes, ("signature", "category", "action"), str)
    _copy(alert, attributes, ("signature_id", "gid", "rev"), int)
    attributes["suricata_severity"] = level
    return _event(text, meta, record, Kind.IDS_ALERT, _ALERT_SEVERITY.get(level, Severity.LOW),
                  attributes)


def _flow(text: str, meta: LineMeta, record: dict[str, Any]) -> Event:
    flow = _section(record, "flow")
    attributes: dict[str, AttrValue] = {"event_type": "flow"}
    _copy(flow, attributes, _FLOW_NUMBERS, int)
    _copy(flow, attributes, _FLOW_TEXTS, str)
    if isinstance(record.get("app_proto"), str):
        attributes["app_proto"] = record["app_proto"]
    return _event(text, meta, record, Kind.NET_FLOW, Severity.POS, attributes)


def _anomaly(text: str, meta: LineMeta, record: dict[str, Any]) -> Event:
    anomaly = _section(record, "anomaly")
    attributes: dict[str, AttrValue] = {"event_type": "anomaly"}
    _copy(anomaly, attributes, ("type", "event", "layer"), str)
    return _event(text, meta, record, Kind.IDS_ANOMALY, Severity.LOW, attributes)


def _section(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key, {})
    if not isinstance(value, Mapping):
        raise TypeError(f"{key!r} must be an object")
    return value


def _copy(source: Mapping[str, Any], target: dict[str, AttrValue], keys: tuple[str, ...],
          kind: type[str] | type[int]) -> None:
    for key in keys:
        value = source.get(key)
        is_text = type(value) is str and kind is str
        is_count = type(value) is int and kind is int and -(2**63) <= value < 2**63
        if is_text or is_count:
            target[key] = value


def _endpoint(record: Mapping[str, Any], ip_key: str, port_key: str) -> Endpoint | None:
    ip = record.get(ip_key)
    if not isinstance(ip, str):
        return None
    number = record.get(port_key)
    return Endpoint(address(ip), port(number) if isinstance(number, int | str) else None)


def _event(text: str, meta: LineMeta, record: Mapping[str, Any], kind: Kind, severity: Severity,
           attributes: dict[str, AttrValue]) -> Event:
    stamp = record.get("timestamp")
    if not isinstance(stamp, str):
        raise ValueError("no timestamp")
    proto = record.get("proto")
    _copy(record, attributes, ("in_iface",), str)
    _copy(record, attributes, ("flow_id",), int)
    return Event(
        id=event_id(meta, text),
        time=iso_time(stamp),
        observed=meta.observed,
        reporter=meta.reporter,
        kind=kind,
        severity=severity,
        src=_endpoint(record, "src_ip", "src_port"),
        dst=_endpoint(record, "dest_ip", "dest_port"),
        protocol=protocol_name(proto) if isinstance(proto, str | int) else None,
        attributes=attributes,
        raw=text,
    )
