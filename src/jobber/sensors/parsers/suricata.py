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
from types import MappingProxyType
from typing import Any, ClassVar

from jobber.sensors.event import AttrValue, Endpoint, Event, Kind, loads
from jobber.sensors.parsers.base import (
    _ADDRESS_CACHE,
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

_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "IPv6-ICMP": "icmpv6", "SCTP": "sctp"}
_ALERT_SEVERITY = {1: Severity.HIGH, 2: Severity.MED}
# (key, is text): the attributes kept from each section
_FLOW_FIELDS = (("pkts_toserver", False), ("pkts_toclient", False), ("bytes_toserver", False),
                ("bytes_toclient", False), ("state", True), ("reason", True))
_ALERT_FIELDS = (("signature", True), ("category", True), ("action", True),
                 ("signature_id", False), ("gid", False), ("rev", False))
_ANOMALY_FIELDS = (("type", True), ("event", True), ("layer", True))
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


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
    attributes = _pick(alert, _ALERT_FIELDS, {"event_type": "alert", "suricata_severity": level})
    return _event(text, meta, record, Kind.IDS_ALERT, _ALERT_SEVERITY.get(level, Severity.LOW),
                  attributes)


def _flow(text: str, meta: LineMeta, record: dict[str, Any]) -> Event:
    flow = record.get("flow")
    section = flow if type(flow) is dict else _section(record, "flow")
    attributes = _pick(section, _FLOW_FIELDS, {"event_type": "flow"})
    app_proto = record.get("app_proto")
    if type(app_proto) is str:
        attributes["app_proto"] = app_proto
    return _event(text, meta, record, Kind.NET_FLOW, Severity.POS, attributes)


def _anomaly(text: str, meta: LineMeta, record: dict[str, Any]) -> Event:
    attributes = _pick(_section(record, "anomaly"), _ANOMALY_FIELDS, {"event_type": "anomaly"})
    return _event(text, meta, record, Kind.IDS_ANOMALY, Severity.LOW, attributes)


def _section(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key, {})
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"{key!r} must be an object")
    return value


def _pick(source: Mapping[str, Any], fields: tuple[tuple[str, bool], ...],
          attributes: dict[str, AttrValue]) -> dict[str, AttrValue]:
    """Copy each field that has its expected type (text, or an int within 64 bits)."""
    for key, is_text in fields:
        value = source.get(key)
        if is_text:
            if type(value) is str:
                attributes[key] = value
        elif type(value) is int and _INT_MIN <= value <= _INT_MAX:
            attributes[key] = value
    return attributes


def _endpoint(record: Mapping[str, Any], ip_key: str, port_key: str) -> Endpoint | None:
    ip = record.get(ip_key)
    if type(ip) is not str:
        return None
    normal = _ADDRESS_CACHE.get(ip) or address(ip)
    number = record.get(port_key)
    if type(number) is int and 0 <= number <= 65535:
        return Endpoint(normal, number)
    return Endpoint(normal, port(number) if type(number) is str else None)


def _event(text: str, meta: LineMeta, record: Mapping[str, Any], kind: Kind, severity: Severity,
           attributes: dict[str, AttrValue]) -> Event:
    stamp = record.get("timestamp")
    if not isinstance(stamp, str):
        raise ValueError("no timestamp")
    proto = record.get("proto")
    flow_id = record.get("flow_id")
    if type(flow_id) is int and _INT_MIN <= flow_id <= _INT_MAX:
        attributes["flow_id"] = flow_id
    protocol = _PROTOCOLS.get(proto) if type(proto) is str else None
    if protocol is None and isinstance(proto, str | int):
        protocol = protocol_name(proto)
    # the common case inline: both addresses already seen, both ports plain numbers
    src_ip, dest_ip = record.get("src_ip"), record.get("dest_ip")
    src_port, dest_port = record.get("src_port"), record.get("dest_port")
    src_address = _ADDRESS_CACHE.get(src_ip) if type(src_ip) is str else None
    dest_address = _ADDRESS_CACHE.get(dest_ip) if type(dest_ip) is str else None
    src: Endpoint | None
    dst: Endpoint | None
    if (src_address is not None and dest_address is not None and type(src_port) is int
            and type(dest_port) is int and 0 <= src_port <= 65535 and 0 <= dest_port <= 65535):
        src, dst = Endpoint(src_address, src_port), Endpoint(dest_address, dest_port)
    else:
        src = _endpoint(record, "src_ip", "src_port")
        dst = _endpoint(record, "dest_ip", "dest_port")
    return Event(event_id(meta, text), iso_time(stamp), meta.observed, meta.reporter, kind,
                 severity, 1.0, src, dst, protocol, MappingProxyType(attributes), text)
