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
memoised in bounded caches (whole stamps, and the start of each classic date), which does not
change what any call returns.
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import UTC, datetime
from typing import NamedTuple

_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
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

_day_cache: dict[tuple[int, str, str], tuple[int, int, int, float]] = {}
_minute_cache: dict[str, tuple[float, float, float]] = {}
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
    return _classic(month, day, clock, observed)[0]


def classic_stamp(stamp: str, observed: float) -> float:
    """``classic_time`` of a whole stamp as the classic framing writes it (``Nov 27 08:14:03``,
    ``Nov  3 09:01:44``), memoised by minute for the observed day: an auth log has many lines a
    minute, and then a line's time costs a dictionary look-up and the seconds' ``int``.
    """
    minute = _minute_cache.get(stamp[:-3])
    if minute is not None and minute[0] <= observed < minute[1]:
        second = int(stamp[-2:])
        if second < 60:
            return minute[2] + second
    when, limit = _classic(stamp[:3], stamp[4:-9], stamp[-8:], observed)
    start = when - int(stamp[-2:])
    if start + 59 <= limit:  # every second of the minute is this year's: none is rolled back
        if len(_minute_cache) >= _CACHE_MAX:
            _minute_cache.clear()
        day = observed // _DAY * _DAY
        _minute_cache[stamp[:-3]] = (day, day + _DAY, start)
    return when


def _classic(month: str, day: str, clock: str, observed: float) -> tuple[float, float]:
    """``classic_time``, and the latest time read in the observed year (``-inf`` when this
    stamp was read in the year before, which says nothing of other seconds)."""
    observed_day = int(observed // _DAY)
    start = _day_cache.get((observed_day, month, day))
    if start is None:
        start = _day_start(observed_day, month, day)
    year, number, date, midnight = start
    hh, mm, ss = map(int, clock.split(":"))
    if not (0 <= hh < 24 and 0 <= mm < 60 and 0 <= ss < 60):
        datetime(year, number, date, hh, mm, ss)  # raises datetime's own ValueError
        raise ValueError(f"bad time of day {clock!r}")  # pragma: no cover - datetime raised
    when = midnight + (hh * 3600 + mm * 60 + ss)
    limit = (observed_day + 3) * _DAY  # two days after the end of the observed day
    if when > limit:
        return datetime(year - 1, number, date, hh, mm, ss, tzinfo=UTC).timestamp(), -math.inf
    return when, limit


def _day_start(observed_day: int, month: str, day: str) -> tuple[int, int, int, float]:
    """(year, month number, day of month, POSIX midnight) of a classic date seen on that day."""
    year = datetime.fromtimestamp(observed_day * _DAY, UTC).year
    number = _MONTHS.get(month)
    if number is None:
        raise ValueError(f"unknown month {month!r}")
    date = int(day)
    start = (year, number, date, datetime(year, number, date, tzinfo=UTC).timestamp())
    if len(_day_cache) >= _CACHE_MAX:
        _day_cache.clear()
    _day_cache[(observed_day, month, day)] = start
    return start


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
