"""AWS VPC flow log records → ``net.flow`` (ACCEPT) and ``net.blocked`` (REJECT) events.

Without a header the record is read in the default version-2 field order::

    version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes
    start end action log-status

A custom format is announced by its header line (the first line of every file AWS delivers to
S3), which names the fields in order, with or without ``${…}``; the parser object keeps it, and
reading a record is a pure function of the record and that header.

Invariants: ``-`` is an absent value; ``NODATA`` and ``SKIPDATA`` records and records without
both addresses yield nothing; a record with a different number of fields than the header names
is unparsed; the event's time is ``start`` (else ``end``) in POSIX seconds.
"""

from __future__ import annotations

from typing import ClassVar

from jobber.sensors.event import AttrValue, Endpoint, Event, Kind
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
from jobber.types import Severity

DEFAULT_FIELDS = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
)
_MAX_FIELDS = 64
_COUNTS = ("packets", "bytes", "end", "tcp-flags", "version")
_TEXTS = ("account-id", "interface-id", "vpc-id", "subnet-id", "instance-id", "flow-direction",
          "action", "type", "pkt-srcaddr", "pkt-dstaddr", "traffic-path", "region", "az-id")
_NO_DATA = ("NODATA", "SKIPDATA")


class VpcFlowParser(LineParser):
    """AWS VPC flow logs, default or custom format, space separated."""

    name: ClassVar[str] = "vpc-flow"

    def __init__(self) -> None:
        self._fields: tuple[str, ...] = DEFAULT_FIELDS

    def read(self, text: str, meta: LineMeta) -> Parsed:
        values = text.split(None, _MAX_FIELDS)
        header = _header(values)
        if header is not None:
            self._fields = header
            return None
        if len(values) != len(self._fields):
            return Unparsed(f"vpc-flow: {len(values)} values for {len(self._fields)} fields")
        record = {key: value for key, value in zip(self._fields, values, strict=True)
                  if value != "-"}
        if record.get("log-status") in _NO_DATA:
            return None
        if "srcaddr" not in record or "dstaddr" not in record:
            return None
        return _event(text, meta, record)


def _header(values: list[str]) -> tuple[str, ...] | None:
    names = tuple(value.removeprefix("${").removesuffix("}").replace("_", "-")
                  for value in values)
    if "srcaddr" in names and "dstaddr" in names:
        return names
    return None


def _event(text: str, meta: LineMeta, record: dict[str, str]) -> Event:
    stamp = record.get("start", record.get("end"))
    if stamp is None:
        raise ValueError("no start or end time")
    accepted = record.get("action", "ACCEPT") == "ACCEPT"
    attributes: dict[str, AttrValue] = {}
    for key in _TEXTS:
        if key in record:
            attributes[key.replace("-", "_")] = record[key]
    for key in _COUNTS:
        if key in record:
            attributes[key.replace("-", "_")] = count(record[key])
    protocol = record.get("protocol")
    return Event(
        id=event_id(meta, text),
        time=finite(stamp),
        observed=meta.observed,
        reporter=meta.reporter,
        kind=Kind.NET_FLOW if accepted else Kind.NET_BLOCKED,
        severity=Severity.POS if accepted else Severity.LOW,
        src=Endpoint(address(record["srcaddr"]), port(record.get("srcport"))),
        dst=Endpoint(address(record["dstaddr"]), port(record.get("dstport"))),
        protocol=None if protocol is None else protocol_name(protocol),
        attributes=attributes,
        raw=text,
    )
