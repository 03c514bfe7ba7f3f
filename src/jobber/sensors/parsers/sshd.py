"""OpenSSH authentication log → ``auth.failure`` / ``auth.success`` events. Pure.

Reads ``sshd`` and ``sshd-session`` (OpenSSH ≥ 9.8) lines in any framing ``parsers.syslog`` knows.
Lines of other programs in the same auth log (sudo, cron …) and sshd messages with nothing to say
about a peer (session opened, server listening) are ignored; a line in no syslog framing at all
is unparsed.

Every event carries ``reason`` and, where sshd logs one, ``user``:

======================  ================================================  ==========
reason                  sshd message                                      confidence
======================  ================================================  ==========
failed                  Failed <method> for [invalid user] U from A …     1.0
invalid-user            Invalid user U from A port P                      1.0
not-allowed             User U from A not allowed because …               1.0
pam                     error: PAM: Authentication failure for U from A   1.0
max-attempts            maximum authentication attempts exceeded for …    1.0
too-many-failures       Disconnecting … A port P: Too many auth… failures 1.0
kex                     Unable to negotiate with A …; ssh_dispatch_run…   0.5
banner                  banner exchange: Connection from A …              0.5
preauth-disconnect      Connection closed/reset, Disconnected … [preauth] 0.5 with a user,
                        Received disconnect from A … [preauth]            0.3 without
no-identification       Did not receive identification string from A      0.3
timeout                 Timeout before authentication for A …             0.3
accepted                Accepted <method> for U from A port P             (auth.success)
======================  ================================================  ==========

Invariant (log injection): the user name is attacker-chosen text that may contain
``" from <addr> port <n> ssh2"``. Where the user comes before the address, the pattern takes the
user greedily and anchors the address at the end of the line, so the address is always the last
one, the one sshd wrote. Where the address comes first, the address is anchored at the start.

Two paths, one table: the lines most auth logs hold (classic or ISO-8601 framing, ``sshd`` or
``sshd-session``, no ``<PRI>``) are read by one expression covering the framing and every message
at once; any other line (RFC 5424, ``<PRI>``, other programs) goes through ``syslog.frame`` and
then the message's pattern, found by its first word. Both are built from ``_MESSAGES`` and give
the same result for every line the fast one accepts.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import ClassVar, NamedTuple

from jobber.sensors.event import AttrValue, Endpoint, Event, Kind, new_event
from jobber.sensors.parsers.base import (
    LineMeta,
    LineParser,
    Parsed,
    Unparsed,
    address,
    count,
    event_id,
)
from jobber.sensors.parsers.syslog import classic_stamp, frame, iso_time
from jobber.types import Severity

_A = r"(?P<addr>\S+)"  # any token: a host name (UseDNS) is then counted as unparsed
_P = r"(?P<port>\d+)"
_PRE = r"(?: \[preauth\])?"
# The user and the space after it: with the space inside the group, sre backtracks the greedy
# ``.*`` from space to space instead of character by character. ``_event`` cuts the space off.
_U = r"(?P<user_>.* )"
_WHO = r"(?:(?P<who>invalid|authenticating) user " + _U + r")?"
_FAIL, _OK = Kind.AUTH_FAILURE, Kind.AUTH_SUCCESS

# (first word, pattern, kind, reason, confidence, needs [preauth] to count). Every pattern starts
# with its first word and a space, so at most one of them can match a message.
_MESSAGES: tuple[tuple[str, str, Kind, str, float, bool], ...] = (
    ("Failed", r"Failed (?P<method>\S+) for (?P<inv>invalid user )?" + _U + "from " + _A
     + " port " + _P + r"(?: ssh\d?)?(?:: \S+ \S+)?" + _PRE, _FAIL, "failed", 1.0, False),
    ("Invalid", r"Invalid user " + _U + "from " + _A + "(?: port " + _P + ")?" + _PRE,
     _FAIL, "invalid-user", 1.0, False),
    ("Illegal", r"Illegal user " + _U + "from " + _A + "(?: port " + _P + ")?" + _PRE,
     _FAIL, "invalid-user", 1.0, False),
    ("User", r"User " + _U + "from " + _A + r" not allowed because [\w' ]+" + _PRE,
     _FAIL, "not-allowed", 1.0, False),
    ("PAM:", r"PAM: Authentication failure for (?:illegal user )?" + _U + "from " + _A,
     _FAIL, "pam", 1.0, False),
    ("maximum", r"maximum authentication attempts exceeded for (?:invalid user )?" + _U
     + "from " + _A + " port " + _P + r"(?: ssh\d?)?" + _PRE, _FAIL, "max-attempts", 1.0,
     False),
    ("Disconnecting", r"Disconnecting " + _WHO + _A + " port " + _P
     + r": Too many authentication failures" + _PRE, _FAIL, "too-many-failures", 1.0, False),
    ("Disconnecting:", r"Disconnecting: Too many authentication failures"
     r"(?: for (?P<user>.*?))?" + _PRE, _FAIL, "too-many-failures", 1.0, False),
    ("Unable", r"Unable to negotiate with " + _A + " port " + _P
     + r": no matching (?P<alg>[\w ]+?) found\..*", _FAIL, "kex", 0.5, False),
    ("ssh_dispatch_run_fatal:", r"ssh_dispatch_run_fatal: Connection from " + _WHO + _A
     + " port " + _P + r": [^:\[\]]*" + _PRE, _FAIL, "kex", 0.5, False),
    ("banner", r"banner exchange: Connection from " + _A + " port " + _P + r": .*",
     _FAIL, "banner", 0.5, False),
    ("Connection", r"Connection (?:closed|reset) by " + _WHO + _A + " port " + _P
     + r"(?P<pre> \[preauth\])?", _FAIL, "preauth-disconnect", 0.5, True),
    ("Disconnected", r"Disconnected from " + _WHO + _A + " port " + _P
     + r"(?P<pre> \[preauth\])?", _FAIL, "preauth-disconnect", 0.5, True),
    ("Received", r"Received disconnect from " + _A + " port " + _P
     + r":(?P<code>\d+): .*?(?P<pre> \[preauth\])?", _FAIL, "preauth-disconnect", 0.3, True),
    ("Did", r"Did not receive identification string from " + _A + "(?: port " + _P + ")?",
     _FAIL, "no-identification", 0.3, False),
    ("Timeout", r"Timeout before authentication for " + _A + "(?: port " + _P + ")?",
     _FAIL, "timeout", 0.3, False),
    ("Accepted", r"Accepted (?P<method>\S+) for (?P<user>\S+) from " + _A + " port " + _P
     + r"(?: ssh\d?)?(?:: .*)?", _OK, "accepted", 1.0, False),
)
_ENDPOINTS: dict[tuple[str, str | None], Endpoint] = {}
_ENDPOINTS_MAX = 1024
"""Small on purpose: the memo serves the sessions in flight (a session's lines repeat its
(address, port), and the next session has a new port), so 1,024 pairs cover busy servers. Each
entry is two objects the cyclic garbage collector tracks; at 16,384 entries, most of them
outlived their session, reached the oldest generation and set off collections of it (143
youngest-generation collections on the benchmark's 200,000 lines, 53 at 1,024: 0.2 µs a line).
Cleared whole when full, so they die young."""
_FIELDS = ("user_", "user", "addr", "port", "method", "inv", "who", "alg", "code", "pre")


class _Recipe(NamedTuple):
    """How one pattern's match becomes an event. ``fields`` are group numbers in its pattern: the
    host's, then one per ``_FIELDS`` (a field the message lacks reads a group that is ``None``).
    """

    kind: Kind
    severity: Severity
    reason: str
    confidence: float
    needs_preauth: bool
    fields: tuple[int, ...]


def _recipe(pattern: re.Pattern[str], number: int, host: int, absent: int,
            suffix: str = "") -> _Recipe:
    _word, _source, kind, reason, confidence, needs_preauth = _MESSAGES[number]
    groups = pattern.groupindex
    fields = (host, *(groups.get(name + suffix, absent) for name in _FIELDS))
    return _Recipe(kind, Severity.POS if kind is _OK else Severity.LOW, reason, confidence,
                   needs_preauth, fields)


# The general path: a message's first word → its pattern and recipe. Fields are read from the
# pattern's groups with a ``None`` appended (the absent "group" -1), the host from the framing.
_TABLE: dict[str, tuple[re.Pattern[str], _Recipe]] = {}
for _number, (_word, _source, *_rest) in enumerate(_MESSAGES):
    _compiled = re.compile(_source + r"\Z", re.S)
    _TABLE[_word] = (_compiled, _recipe(_compiled, _number, 0, -1))
_PREFIXES = ("error: ", "fatal: ")

# The fast path: framing and message in one expression. Group 1 is the stamp (classic or
# ISO-8601), group 2 the host; then one alternative per message pattern, its first character
# outside and the rest in a group ``m<n>`` (an alternative that opens with a literal is skipped
# at the first character), its own groups renamed ``<name>_<n>`` to keep names unique. A
# matching ``m<n>`` closes last, so ``lastindex`` names it; a line whose framing matches and
# whose message does not is an sshd line with nothing to say. Alternatives exclude each other,
# so a field the matching one lacks is read from a group of another one, ``None`` for sure.
_FAST = re.compile(
    r"([A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) "
    r"(\S+) sshd(?:-session)?(?:\[\d+\])?: (?:error: |fatal: )?(?:"
    + "|".join(re.escape(source[0]) + f"(?P<m{number}>"
               + re.sub(r"\(\?P<(\w+)>", rf"(?P<\g<1>_{number}>", source[1:]) + r"\Z)"
               for number, (_word, source, *_rest) in enumerate(_MESSAGES))
    + "|)",  # an empty last alternative, cheaper than making the group optional
    re.S,
)
_FAST_RECIPES: dict[int | None, _Recipe] = {
    _FAST.groupindex[f"m{number}"]: _recipe(
        _FAST, number, 2, _FAST.groupindex[f"m{(number + 1) % len(_MESSAGES)}"], f"_{number}")
    for number in range(len(_MESSAGES))
}


class SshdParser(LineParser):
    """OpenSSH's auth log (``/var/log/auth.log``, ``journalctl -u ssh -o short-iso``, syslog)."""

    name: ClassVar[str] = "sshd"

    def read(self, text: str, meta: LineMeta) -> Parsed:
        fast = _FAST.match(text)
        if fast is not None:
            # the time first, even for a line with nothing to say: a bad date is unparsed
            stamp = fast.group(1)
            when = (iso_time(stamp) if stamp[0] <= "9" else classic_stamp(stamp, meta.observed))
            recipe = _FAST_RECIPES.get(fast.lastindex)
            if recipe is None:
                return None
            return _event(text, meta, when, recipe, fast.group(*recipe.fields))
        framed = frame(text, meta.observed)  # the other framings, and other programs
        if framed is None:
            return Unparsed("sshd: not a syslog line")
        if not framed.program.startswith("sshd"):
            return None
        message = framed.message
        for prefix in _PREFIXES:
            if message.startswith(prefix):
                message = message[len(prefix):]
                break
        entry = _TABLE.get(message.split(" ", 1)[0])
        if entry is None:
            return None
        pattern, recipe = entry
        match = pattern.match(message)
        if match is None:
            return None
        groups = (framed.host, *match.groups(), None)  # group n is groups[n]; -1 is None
        return _event(text, meta, framed.time, recipe,
                      tuple(groups[number] for number in recipe.fields))


def _event(text: str, meta: LineMeta, when: float, recipe: _Recipe,
           values: tuple[str | None, ...]) -> Event | None:
    """The event a matched message makes; ``values`` are the host, then ``_FIELDS``."""
    kind, severity, reason, confidence, needs_preauth, _fields = recipe
    host, user_, user, addr, port, method, inv, who, alg, code, pre = values
    if user_ is not None:
        user = user_[:-1]
    if needs_preauth:
        if pre is None:
            return None
        if user is None and reason == "preauth-disconnect":
            confidence = 0.3
    attributes: dict[str, AttrValue] = {"reason": reason, "host": host}
    if user is not None:
        attributes["user"] = user
    if method is not None:
        attributes["method"] = method
    if reason == "invalid-user" or inv or who == "invalid":
        attributes["invalid_user"] = True
    if alg is not None:
        attributes["algorithm"] = alg
    if code is not None:
        attributes["code"] = count(code)
    src = None
    if addr is not None:
        src = _ENDPOINTS.get((addr, port))
        if src is None:
            src = _endpoint(addr, port)
    # positional: this is the hottest constructor call in Jobber (see benchmarks/sensors.py)
    return new_event(event_id(meta, text), when, meta.observed, meta.reporter, kind, severity,
                     confidence, src, "tcp", MappingProxyType(attributes), text)


def _endpoint(addr: str, port: str | None) -> Endpoint:
    """The source endpoint as sshd wrote it, memoised (bounded): a session repeats it."""
    normal = address(addr)  # first: a bad address is the reason given, before a bad port
    number = None
    if port is not None:
        number = int(port)
        if number > 65535:
            raise ValueError(f"port {number} is not 0..65535")
    endpoint = Endpoint(normal, number)
    if len(_ENDPOINTS) >= _ENDPOINTS_MAX:
        _ENDPOINTS.clear()
    _ENDPOINTS[(addr, port)] = endpoint
    return endpoint
