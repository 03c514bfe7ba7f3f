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
from typing import ClassVar

from jobber.sensors.event import Endpoint, Event, Kind
from jobber.sensors.parsers.base import LineMeta, LineParser, Parsed, Unparsed, address, event_id
from jobber.sensors.parsers.syslog import frame
from jobber.types import Severity

_A = r"(?P<addr>[0-9A-Fa-f:.]+)"
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
                       "too-many-failures", 1.0, False),
                      (_pattern(r"Disconnecting: Too many authentication failures(?: for "
                                + _U + ")?" + _PRE), "too-many-failures", 1.0, False)),
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


class SshdParser(LineParser):
    """OpenSSH's auth log (``/var/log/auth.log``, ``journalctl -u ssh -o short-iso``, syslog)."""

    name: ClassVar[str] = "sshd"

    def read(self, text: str, meta: LineMeta) -> Parsed:
        framed = frame(text, meta.observed)
        if framed is None:
            return Unparsed("sshd: not a syslog line")
        if not framed.program.startswith("sshd"):
            return None
        message = framed.message
        for prefix in _PREFIXES:
            if message.startswith(prefix):
                message = message[len(prefix):]
                break
        word = message.split(" ", 1)[0]
        if word == "Accepted":
            match = _ACCEPTED.match(message)
            if match is None:
                return None
            return self._event(text, meta, framed.time, Kind.AUTH_SUCCESS, Severity.POS, 1.0,
                               match, "accepted", framed.host)
        for pattern, reason, confidence, needs_preauth in _TABLE.get(word, ()):
            match = pattern.match(message)
            if match is None:
                continue
            groups = match.groupdict()
            if needs_preauth and groups.get("pre") is None:
                return None
            if reason == "preauth-disconnect" and groups.get("user") is None:
                confidence = 0.3
            return self._event(text, meta, framed.time, Kind.AUTH_FAILURE, Severity.LOW,
                               confidence, match, reason, framed.host)
        return None

    def _event(self, text: str, meta: LineMeta, when: float, kind: Kind, severity: Severity,
               confidence: float, match: re.Match[str], reason: str, host: str) -> Event:
        groups = match.groupdict()
        attributes: dict[str, str | int | float | bool | None] = {"reason": reason, "host": host}
        user = groups.get("user")
        if user is not None:
            attributes["user"] = user
        method = groups.get("method")
        if method is not None:
            attributes["method"] = method
        if groups.get("inv") is not None or groups.get("who") == "invalid" or (
                reason == "invalid-user"):
            attributes["invalid_user"] = True
        if groups.get("alg") is not None:
            attributes["algorithm"] = groups["alg"]
        if groups.get("code") is not None:
            attributes["code"] = int(groups["code"])
        src = None
        addr = groups.get("addr")
        if addr is not None:
            number = groups.get("port")
            src = Endpoint(address(addr), None if number is None else _port(number))
        return Event(
            id=event_id(meta, text), time=when, observed=meta.observed, reporter=meta.reporter,
            kind=kind, severity=severity, confidence=confidence, src=src, dst=None,
            protocol="tcp", attributes=attributes, raw=text,
        )


def _port(text: str) -> int:
    value = int(text)
    if value > 65535:
        raise ValueError(f"port {value} is not 0..65535")
    return value
