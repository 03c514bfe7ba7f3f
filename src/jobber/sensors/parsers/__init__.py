"""The parser registry: one dict from format name to parser class, built-ins and plug-ins alike.

A third-party package adds a format by declaring an entry point in the group
``jobber.sensors.parsers`` whose object is a ``LineParser`` subclass; ``make_parser`` looks there
after the built-ins. Each call returns a fresh parser, because the header-reading formats
(Zeek TSV, custom VPC flow logs) keep the header of the file they are reading.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from jobber.errors import ConfigError
from jobber.sensors.parsers.app_report import AppReportParser
from jobber.sensors.parsers.base import LineMeta, LineParser, Parsed, Unparsed
from jobber.sensors.parsers.netfilter import NetfilterParser
from jobber.sensors.parsers.sshd import SshdParser
from jobber.sensors.parsers.suricata import SuricataParser
from jobber.sensors.parsers.vpc import VpcFlowParser
from jobber.sensors.parsers.zeek import ZeekConnParser, ZeekNoticeParser

ENTRY_POINT_GROUP = "jobber.sensors.parsers"

PARSERS: dict[str, type[LineParser]] = {
    parser.name: parser
    for parser in (
        SshdParser,
        NetfilterParser,
        SuricataParser,
        ZeekConnParser,
        ZeekNoticeParser,
        VpcFlowParser,
        AppReportParser,
    )
}
"""Built-in formats by name: sshd, netfilter, suricata, zeek-conn, zeek-notice, vpc-flow,
app-report."""


def known_formats() -> list[str]:
    """Every format name, built-in first, then plug-ins."""
    plugins = [point.name for point in entry_points(group=ENTRY_POINT_GROUP)]
    return [*PARSERS, *(name for name in plugins if name not in PARSERS)]


def make_parser(name: str) -> LineParser:
    """A fresh parser for ``name``; an unknown name raises ``ConfigError`` listing the known."""
    parser = PARSERS.get(name)
    if parser is not None:
        return parser()
    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        loaded = point.load()
        if isinstance(loaded, type) and issubclass(loaded, LineParser):
            return loaded()
        raise ConfigError(f"sensor format {name!r}: entry point {point.value!r} is not a "
                          "LineParser subclass")
    known = ", ".join(known_formats())
    raise ConfigError(f"unknown sensor format {name!r} (known: {known})")


__all__ = ["PARSERS", "LineMeta", "LineParser", "Parsed", "Unparsed", "known_formats",
           "make_parser"]
