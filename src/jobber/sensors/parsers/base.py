"""What every parser shares: the per-line context, the three outcomes, and the parser interface.

A parser reads one line and returns one of three things:

* an ``Event``: the line says something Jobber cares about;
* ``None``: the line was understood and is of no interest (a session opened, a DNS record);
* ``Unparsed(reason)``: the line could not be read. The caller counts these; nothing is raised.

Invariants:

* ``LineParser.parse`` never raises for any ``str`` or ``bytes`` input: bytes are decoded as UTF-8
  with replacement, and the value errors a malformed line provokes inside ``read`` (bad numbers,
  bad addresses, bad JSON, missing keys) become ``Unparsed``;
* a parser's output depends only on the line, the ``LineMeta`` and, for formats with a header
  (Zeek TSV, custom VPC flow logs), the header lines it has already seen;
* event ids are derived from (reporter, origin, offset, line): replaying the same file gives the
  same ids, and two identical lines at different offsets get different ids.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from jobber.sensors.event import Event
from jobber.types import TenantId

READ_ERRORS = (ValueError, KeyError, TypeError, IndexError, OverflowError, RecursionError)

_ADDRESS_CACHE: dict[str, str] = {}
_SOURCE_IDS: dict[tuple[str, str], str] = {}
_ADDRESS_CACHE_MAX = 65536
_crc32 = zlib.crc32


class LineMeta(NamedTuple):
    """Where a line came from: who reports it, when Jobber read it, and its position.

    A named tuple (immutable, and several times cheaper to build than a frozen dataclass): one
    is made for every line read.
    """

    reporter: TenantId
    observed: float
    origin: str = ""
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A line the parser could not read, and why (for the operator's report)."""

    reason: str


Parsed = Event | Unparsed | None


class LineParser(ABC):
    """A parser of one log format. Subclasses implement ``read`` on decoded text."""

    name: ClassVar[str]
    """The format's name in the registry (``sshd``, ``suricata`` …)."""

    def parse(self, line: str | bytes, meta: LineMeta) -> Parsed:
        """Read one line; never raises (see the module's invariants)."""
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        text = text.rstrip("\r\n")
        if not text or text.isspace():
            return None
        try:
            return self.read(text, meta)
        except READ_ERRORS as exc:  # Sensor.feed has a copy of this method, inlined
            return Unparsed(f"{self.name}: {type(exc).__name__}: {exc}"[:200])

    @abstractmethod
    def read(self, text: str, meta: LineMeta) -> Parsed:
        """Read one decoded line without its line ending. May raise the errors listed above."""


def event_id(meta: LineMeta, text: str) -> str:
    """A stable id for the event read from ``text`` at ``meta``'s position.

    ``<source>-<offset>-<check>``: the source part hashes (reporter, origin), the offset places
    the line, and a CRC of the line's length and first 128 characters tells apart lines re-read at
    the same offset after a truncation (hashing the whole line cost a tenth of the parse).
    """
    reporter, _observed, origin, offset = meta
    last_reporter, last_origin, source = _last_source
    # One sensor asks for the same (reporter, origin) line after line: compare with the last one
    # by identity before building a tuple to look it up (equal strings that are not the same
    # object just take the look-up).
    if reporter is not last_reporter or origin is not last_origin:
        source = _SOURCE_IDS.get((reporter, origin)) or _source_id(reporter, origin)
        _last_source[:] = (reporter, origin, source)
    try:
        data = text[:128].encode()
    except UnicodeEncodeError:  # lone surrogates, from a caller's surrogateescape decoding
        data = text[:128].encode("utf-8", "replace")
    return "%s-%x-%08x" % (source, offset, _crc32(data, len(text)))  # noqa: UP031 (faster)


def _source_id(reporter: str, origin: str) -> str:
    if len(_SOURCE_IDS) >= 1024:
        _SOURCE_IDS.clear()
    source = hashlib.blake2b(f"{reporter}\0{origin}".encode("utf-8", "replace"),
                             digest_size=5).hexdigest()
    _SOURCE_IDS[(reporter, origin)] = source
    return source


_last_source = ["", "", _source_id("", "")]  # (reporter, origin, source id) of the last event_id


def address(text: str) -> str:
    """Normalise an IPv4 or IPv6 address; IPv4-mapped IPv6 becomes IPv4. Raises ``ValueError``.

    Memoised (bounded): logs repeat the same few addresses, and ``ipaddress`` is slow.
    """
    known = _ADDRESS_CACHE.get(text)
    if known is not None:
        return known
    parsed = ipaddress.ip_address(text.strip("[]"))
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    normal = str(parsed)
    if len(_ADDRESS_CACHE) >= _ADDRESS_CACHE_MAX:
        _ADDRESS_CACHE.clear()
    _ADDRESS_CACHE[text] = normal
    return normal


def port(text: str | int | None) -> int | None:
    """A port number 0..65535, ``None`` for an absent one ('-', '', None); else ``ValueError``."""
    if text is None or text in ("-", ""):
        return None
    if isinstance(text, bool):
        raise ValueError(f"port {text!r} is not a number")
    value = text if isinstance(text, int) else int(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"port {value} is not 0..65535")
    return value


PROTOCOL_NUMBERS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp", 47: "gre", 50: "esp"}
"""IANA protocol numbers that flow records use, by the names events use."""


def protocol_name(text: str | int) -> str:
    """Lower-case protocol name from a name or an IANA number ('6' → 'tcp')."""
    if isinstance(text, int) or text.isdigit():
        number = int(text)
        return PROTOCOL_NUMBERS.get(number, str(number))
    return text.lower()


def finite(value: str | int | float) -> float:
    """A finite float from text or a number; ``ValueError`` for NaN, infinities and non-numbers."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def count(value: str | int) -> int:
    """A non-negative 64-bit count from text or an int; ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a count")
    number = value if isinstance(value, int) else int(value)
    if not 0 <= number < 2**63:
        raise ValueError(f"count {number} is out of range")
    return number
