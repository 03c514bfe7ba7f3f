"""netfilter / nftables ``LOG`` lines → ``net.blocked`` (or ``net.flow``) events. Pure.

The kernel writes one line per logged packet: an operator-chosen prefix, then ``KEY=value``
fields and bare flags::

    Nov 27 01:29:17 fw kernel: [8812.001] DROP-IN: IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.10
        LEN=60 TOS=0x00 TTL=50 ID=5 DF PROTO=TCP SPT=40000 DPT=23 WINDOW=1024 SYN URGP=0

Read from syslog in any framing ``parsers.syslog`` knows, or bare as ``dmesg`` prints it (then
the event's time is the time it was observed).

Invariants:

* any prefix is accepted (``DROP-IN:``, ``[UFW BLOCK]``, ``nft drop``, none); a prefix that says
  ACCEPT, ALLOW or PASS makes a ``net.flow`` event, any other a ``net.blocked`` one (LOG rules
  usually sit just before a drop);
* the outer packet's fields win: an ICMP error quotes the offending packet in ``[…]`` after its
  own fields, and that quotation is not read;
* UDP lines carry two ``LEN`` fields, the IP length then the UDP length; both are kept
  (``ip_len``, ``udp_len``);
* kernel lines that are not packet logs are ignored; a line with ``IN=`` but no usable
  ``SRC``/``DST`` (ARP, bridged frames) is ignored too.
"""

from __future__ import annotations

import re
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
    port,
)
from jobber.sensors.parsers.syslog import frame
from jobber.types import Severity

_KERNEL_CLOCK = re.compile(r"\s*\[\s*\d+\.\d+\]\s*")
_ACCEPTING = ("ACCEPT", "ALLOW", "PASS")
_FLAGS = ("SYN", "ACK", "FIN", "RST", "PSH", "URG", "CWR", "ECE", "DF", "MF")
_MAX_FIELDS = 64


class NetfilterParser(LineParser):
    """``iptables -j LOG``, ``ip6tables``, ``nft ... log prefix``, UFW."""

    name: ClassVar[str] = "netfilter"

    def read(self, text: str, meta: LineMeta) -> Parsed:
        framed = frame(text, meta.observed)
        if framed is None:
            if "IN=" not in text:
                return Unparsed("netfilter: neither a syslog line nor a packet log")
            when, message = meta.observed, text
        else:
            if "IN=" not in framed.message:
                return None
            when, message = framed.time, framed.message
        start = _fields_start(message)
        if start < 0:
            return None
        prefix = _KERNEL_CLOCK.sub("", message[:start], count=1).strip()
        fields, flags = _split_fields(message[start:])
        if "SRC" not in fields or "DST" not in fields:
            return None
        return _event(text, meta, when, prefix, fields, flags)


def _fields_start(message: str) -> int:
    if message.startswith("IN="):
        return 0
    index = message.find(" IN=")
    return index + 1 if index >= 0 else -1


def _split_fields(body: str) -> tuple[dict[str, str], list[str]]:
    """``KEY=value`` pairs of the outer packet (first occurrence wins), and its bare flags."""
    fields: dict[str, str] = {}
    flags: list[str] = []
    for token in body.split(" ", _MAX_FIELDS)[:_MAX_FIELDS]:
        if token.startswith("["):
            break  # an ICMP error quoting the packet that caused it
        key, sep, value = token.partition("=")
        if not sep:
            if token in _FLAGS:
                flags.append(token)
            continue
        if key == "LEN" and "LEN" in fields and "PROTO" in fields:
            fields["PAYLOAD_LEN"] = value
        else:
            fields.setdefault(key, value)
    return fields, flags


def _event(text: str, meta: LineMeta, when: float, prefix: str, fields: dict[str, str],
           flags: list[str]) -> Event:
    protocol = fields.get("PROTO", "").lower() or None
    upper = prefix.upper()
    accepted = any(word in upper for word in _ACCEPTING)
    attributes: dict[str, AttrValue] = {"prefix": prefix}
    for key, name in (("IN", "in_iface"), ("OUT", "out_iface")):
        if fields.get(key):
            attributes[name] = fields[key]
    for key, name in (("LEN", "ip_len"), ("TTL", "ttl"), ("HOPLIMIT", "ttl"),
                      ("TYPE", "icmp_type"), ("CODE", "icmp_code")):
        if key in fields:
            attributes[name] = count(fields[key])
    if "PAYLOAD_LEN" in fields:
        attributes["udp_len" if protocol == "udp" else "payload_len"] = count(fields["PAYLOAD_LEN"])
    if flags:
        attributes["flags"] = ",".join(flags)
    return Event(
        id=event_id(meta, text),
        time=when,
        observed=meta.observed,
        reporter=meta.reporter,
        kind=Kind.NET_FLOW if accepted else Kind.NET_BLOCKED,
        severity=Severity.POS if accepted else Severity.LOW,
        src=Endpoint(address(fields["SRC"]), port(fields.get("SPT"))),
        dst=Endpoint(address(fields["DST"]), port(fields.get("DPT"))),
        protocol=protocol,
        attributes=attributes,
        raw=text,
    )
