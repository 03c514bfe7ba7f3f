"""Syslog framing: split one syslog line into time, host, program, pid and message. Pure.

Four framings are read, with or without a leading ``<PRI>``:

=================  ==========================================================================
classic (3164)     ``Nov 27 01:29:17 host sshd[812]: message``
ISO-8601           ``2026-11-27T01:29:17.120431+00:00 host sshd[812]: message`` (rsyslog)
journald           ``2026-11-27T01:29:17+0000 host sshd-session[812]: message`` (short-iso)
RFC 5424           ``<38>1 2026-11-27T01:29:17Z host sshd 812 - - message``
=================  ==========================================================================

Invariants: a classic timestamp has no year and no zone; it is read as UTC in the year of the
``observed`` day, or the year before when that would put it more than two days after the end of
the observed day (a December line read in January). A zone-less ISO time is UTC. Results are
memoised in bounded caches, which does not change what any call returns.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from typing import NamedTuple

_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
_FUTURE_SLACK = 2 * 86400.0
_CACHE_MAX = 8192

_CLASSIC = re.compile(
    r"(?:<(\d{1,3})>)?([A-Z][a-z]{2}) ([ \d]?\d) (\d\d):(\d\d):(\d\d) "
    r"(\S+) ([^\s\[\]:]+)(?:\[(\d+)\])?: ?(.*)",
    re.S,
)
_ISO = re.compile(
    r"(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) "
    r"(\S+) ([^\s\[\]:]+)(?:\[(\d+)\])?: ?(.*)",
    re.S,
)
_RFC5424 = re.compile(
    r"(?:<(\d{1,3})>)?1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?",
    re.S,
)

_ISO_FRACTION = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)[.,](\d{1,9})(Z|[+-]\d\d:?\d\d|)")

_classic_cache: dict[tuple[int, str, str, str], float] = {}
_DAY = 86400
_iso_cache: dict[str, float] = {}


class Framed(NamedTuple):
    """One syslog line, split. ``priority`` is ``None`` when the line carried no ``<PRI>``.

    A named tuple, not a frozen dataclass: it is built for every line read, and a frozen
    dataclass costs several times as much to build.
    """

    time: float
    host: str
    program: str
    pid: str | None
    message: str
    priority: int | None = None

    @property
    def facility(self) -> int | None:
        return None if self.priority is None else self.priority >> 3

    @property
    def level(self) -> int | None:
        return None if self.priority is None else self.priority & 7


def frame(text: str, observed: float) -> Framed | None:
    """Split a syslog line in any of the four framings; ``None`` if it is in none of them.

    A malformed date inside a recognised framing raises ``ValueError``.
    """
    first = text[:1]
    if first == "<" or first == "1":
        framed = _frame_5424(text, observed)
        if framed is not None:
            return framed
    match = _CLASSIC.match(text)
    if match is not None:
        pri, month, day, hh, mm, ss, host, program, pid, message = match.groups()
        when = classic_time(month, day, f"{hh}:{mm}:{ss}", observed)
        return Framed(when, host, program, pid, message, _priority(pri))
    match = _ISO.match(text)
    if match is not None:
        pri, stamp, host, program, pid, message = match.groups()
        return Framed(iso_time(stamp), host, program, pid, message, _priority(pri))
    return None


def _frame_5424(text: str, observed: float) -> Framed | None:
    match = _RFC5424.match(text)
    if match is None:
        return None
    pri, stamp, host, app, procid, _msgid, _sd, message = match.groups()
    when = observed if stamp == "-" else iso_time(stamp)
    message = (message or "").removeprefix("\ufeff")
    pid = None if procid == "-" else procid
    return Framed(when, host, app, pid, message, _priority(pri))


def _priority(text: str | None) -> int | None:
    if text is None:
        return None
    value = int(text)
    if value > 191:
        raise ValueError(f"syslog priority {value} is over 191")
    return value


def classic_time(month: str, day: str, clock: str, observed: float) -> float:
    """POSIX time of a year-less, zone-less syslog date (see the module's invariants)."""
    observed_day = int(observed // _DAY)
    key = (observed_day, month, day, clock)
    cached = _classic_cache.get(key)
    if cached is not None:
        return cached
    year = datetime.fromtimestamp(observed_day * _DAY, UTC).year
    number = _MONTHS.get(month)
    if number is None:
        raise ValueError(f"unknown month {month!r}")
    hh, mm, ss = (int(part) for part in clock.split(":"))
    when = datetime(year, number, int(day), hh, mm, ss, tzinfo=UTC).timestamp()
    if when > (observed_day + 1) * _DAY + _FUTURE_SLACK:
        when = datetime(year - 1, number, int(day), hh, mm, ss, tzinfo=UTC).timestamp()
    if len(_classic_cache) >= _CACHE_MAX:
        _classic_cache.clear()
    _classic_cache[key] = when
    return when


def iso_time(stamp: str) -> float:
    """POSIX time of an ISO-8601 / RFC 3339 timestamp; no zone means UTC."""
    if len(stamp) > 26 and stamp[19] == "." and stamp[20:26].isdigit() and stamp[26] in "+-Z":
        # The common microsecond form (Suricata, rsyslog): cache the whole second only.
        whole = stamp[:19] + stamp[26:]
        second = _iso_cache.get(whole)
        if second is None:
            second = iso_time(whole)
        return second + int(stamp[20:26]) / 1e6
    cached = _iso_cache.get(stamp)
    if cached is not None:
        return cached
    fraction = _ISO_FRACTION.fullmatch(stamp)
    if fraction is not None:
        # Sub-second stamps rarely repeat: cache the whole second, add the fraction.
        whole, digits, zone = fraction.groups()
        return iso_time(whole + zone) + int(digits) / 10.0 ** len(digits)
    parsed = datetime.fromisoformat(stamp.replace(",", "."))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    when = parsed.timestamp()
    if len(_iso_cache) >= _CACHE_MAX:
        _iso_cache.clear()
    _iso_cache[stamp] = when
    return when
