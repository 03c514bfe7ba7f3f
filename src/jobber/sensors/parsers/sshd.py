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
"""

from __future__ import annotations

import re
from types import MappingProxyType
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
)
from jobber.sensors.parsers.syslog import classic_time, frame
from jobber.types import Severity

_A = r"(?P<addr>\S+)"  # any token: a host name (UseDNS) is then counted as unparsed
_P = r"(?P<port>\d+)"
_PRE = r"(?: \[preauth\])?"
_U = r"(?P<user>.*)"
_WHO = r"(?:(?P<who>invalid|authenticating) user " + _U + r" )?"




def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text + r"\Z", re.S)


# first word of the message → (pattern, reason, confidence, needs [preauth] to count)
_TABLE: dict[str, tuple[tuple[re.Pattern[str], str, float, bool], ...]] = {
    "Failed": (
        (_pattern(r"Failed (?P<method>\S+) for (?P<inv>invalid user )?" + _U + " from " + _A
                  + " port " + _P + r"(?: ssh\d?)?(?:: \S+ \S+)?" + _PRE), "failed", 1.0, False),
    ),
    "Invalid": ((_pattern(r"Invalid user " + _U + " from " + _A + "(?: port " + _P + ")?" + _PRE),
                 "invalid-user", 1.0, False),),
    "Illegal": ((_pattern(r"Illegal user " + _U + " from " + _A + "(?: port " + _P + ")?" + _PRE),
                 "invalid-user", 1.0, False),),
    "User": ((_pattern(r"User " + _U + " from " + _A + r" not allowed because [\w' ]+" + _PRE),
              "not-allowed", 1.0, False),),
    "PAM:": ((_pattern(r"PAM: Authentication failure for (?:illegal user )?" + _U
                       + " from " + _A), "pam", 1.0, False),),
    "maximum": ((_pattern(r"maximum authentication attempts exceeded for (?:invalid user )?" + _U
                          + " from " + _A + " port " + _P + r"(?: ssh\d?)?" + _PRE),
                 "max-attempts", 1.0, False),),
    "Disconnecting": ((_pattern(r"Disconnecting " + _WHO + _A + " port " + _P
                                + r": Too many authentication failures" + _PRE),
                       "too-many-failures", 1.0, False),),
    "Disconnecting:": ((_pattern(r"Disconnecting: Too many authentication failures"
                                 r"(?: for (?P<user>.*?))?" + _PRE), "too-many-failures", 1.0,
                        False),),
    "Unable": ((_pattern(r"Unable to negotiate with " + _A + " port " + _P
                         + r": no matching (?P<alg>[\w ]+?) found\..*"), "kex", 0.5, False),),
    "ssh_dispatch_run_fatal:": ((_pattern(r"ssh_dispatch_run_fatal: Connection from " + _WHO + _A
                                          + " port " + _P + r": [^:\[\]]*" + _PRE), "kex", 0.5,
                                 False),),
    "banner": ((_pattern(r"banner exchange: Connection from " + _A + " port " + _P + r": .*"),
                "banner", 0.5, False),),
    "Connection": ((_pattern(r"Connection (?:closed|reset) by " + _WHO + _A + " port " + _P
                             + r"(?P<pre> \[preauth\])?"), "preauth-disconnect", 0.5, True),),
    "Disconnected": ((_pattern(r"Disconnected from " + _WHO + _A + " port " + _P
                               + r"(?P<pre> \[preauth\])?"), "preauth-disconnect", 0.5, True),),
    "Received": ((re.compile(r"Received disconnect from " + _A + " port " + _P
                             + r":(?P<code>\d+): .*?(?P<pre> \[preauth\])?\Z", re.S),
                  "preauth-disconnect", 0.3, True),),
    "Did": ((_pattern(r"Did not receive identification string from " + _A + "(?: port " + _P
                      + ")?"), "no-identification", 0.3, False),),
    "Timeout": ((_pattern(r"Timeout before authentication for " + _A + "(?: port " + _P + ")?"),
                 "timeout", 0.3, False),),
}
_ACCEPTED = _pattern(r"Accepted (?P<method>\S+) for (?P<user>\S+) from " + _A + " port " + _P
                     + r"(?: ssh\d?)?(?:: .*)?")
_PREFIXES = ("error: ", "fatal: ")
# The classic framing of an sshd line, matched in one step with the program name: most auth logs
# are in it, and skipping the general ``frame`` is a third of the cost of reading such a line.
_CLASSIC_SSHD = re.compile(
    r"([A-Z][a-z]{2}) ([ \d]?\d) (\d\d:\d\d:\d\d) (\S+) sshd(?:-session)?(?:\[\d+\])?: "
    r"(?:error: |fatal: )?"
)


class SshdParser(LineParser):
    """OpenSSH's auth log (``/var/log/auth.log``, ``journalctl -u ssh -o short-iso``, syslog)."""

    name: ClassVar[str] = "sshd"

    def read(self, text: str, meta: LineMeta) -> Parsed:
        fast = _CLASSIC_SSHD.match(text)
        if fast is not None:
            month, day, clock, host = fast.groups()
            when = classic_time(month, day, clock, meta.observed)
            message = text[fast.end():]
        else:  # the other framings, and other programs
            framed = frame(text, meta.observed)
            if framed is None:
                return Unparsed("sshd: not a syslog line")
            if not framed.program.startswith("sshd"):
                return None
            when, host, message = framed.time, framed.host, framed.message
            for prefix in _PREFIXES:
                if message.startswith(prefix):
                    message = message[len(prefix):]
                    break
        word = message.split(" ", 1)[0]
        if word == "Accepted":
            match = _ACCEPTED.match(message)
            if match is None:
                return None
            return self._event(text, meta, when, Kind.AUTH_SUCCESS, Severity.POS, 1.0,
                               match.groupdict(), "accepted", host)
        for pattern, reason, confidence, needs_preauth in _TABLE.get(word, ()):
            match = pattern.match(message)
            if match is None:
                continue
            groups = match.groupdict()
            if needs_preauth and groups.get("pre") is None:
                return None
            if reason == "preauth-disconnect" and groups.get("user") is None:
                confidence = 0.3
            return self._event(text, meta, when, Kind.AUTH_FAILURE, Severity.LOW, confidence,
                               groups, reason, host)
        return None

    def _event(self, text: str, meta: LineMeta, when: float, kind: Kind, severity: Severity,
               confidence: float, groups: dict[str, str | None], reason: str,
               host: str) -> Event:
        attributes: dict[str, AttrValue] = {"reason": reason, "host": host}
        user = groups.get("user")
        if user is not None:
            attributes["user"] = user
        method = groups.get("method")
        if method is not None:
            attributes["method"] = method
        if reason == "invalid-user" or groups.get("inv") or groups.get("who") == "invalid":
            attributes["invalid_user"] = True
        if "alg" in groups:
            attributes["algorithm"] = groups["alg"]
        code = groups.get("code")
        if code is not None:
            attributes["code"] = count(code)
        addr = groups.get("addr")
        src = None
        if addr is not None:
            number = groups.get("port")
            src = Endpoint(address(addr), None if number is None else _port(number))
        # positional: this is the hottest constructor call in Jobber (see benchmarks/sensors.py)
        return Event(event_id(meta, text), when, meta.observed, meta.reporter, kind, severity,
                     confidence, src, None, "tcp", MappingProxyType(attributes), text)


def _port(text: str) -> int:
    value = int(text)
    if value > 65535:
        raise ValueError(f"port {value} is not 0..65535")
    return value
