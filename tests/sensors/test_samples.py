"""Every annotated sample line, one test each; and a meta-test that no parser lacks samples."""

from __future__ import annotations

import pytest

from jobber.sensors.event import Event
from jobber.sensors.parsers import PARSERS, LineMeta, Unparsed, make_parser
from jobber.types import TenantId
from tests.sensors.samples import OBSERVED, SAMPLES, UNPARSED, Case, all_cases, mismatches

CASES = all_cases()


def _parse(case: Case) -> Event | Unparsed | None:
    parser = make_parser(case.fmt)
    for offset, line in enumerate(case.preceding):
        parser.parse(line, LineMeta(TenantId("acme"), OBSERVED, case.fmt, offset))
    return parser.parse(case.line, LineMeta(TenantId("acme"), OBSERVED, case.fmt, case.lineno))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_sample_line(case: Case) -> None:
    result = _parse(case)
    if case.expect is None:
        assert result is None, f"expected nothing, got {result!r}"
    elif case.expect == UNPARSED:
        assert isinstance(result, Unparsed), f"expected unparsed, got {result!r}"
    else:
        assert isinstance(result, Event), f"expected an event, got {result!r}"
        assert isinstance(case.expect, dict)
        assert not mismatches(result, case.expect), mismatches(result, case.expect)
        assert result.reporter == "acme" and result.observed == OBSERVED
        assert Event.from_json(result.to_json()) == result


def test_every_registered_parser_has_samples() -> None:
    missing = [name for name in PARSERS if not (SAMPLES / f"{name}.log").exists()]
    assert not missing, f"parsers without samples/<name>.log: {missing}"
    empty = [name for name in PARSERS if not any(case.fmt == name for case in CASES)]
    assert not empty, f"sample files without annotated lines: {empty}"


def test_every_sample_file_names_a_registered_parser() -> None:
    stray = [path.stem for path in SAMPLES.glob("*.log") if path.stem not in PARSERS]
    assert not stray, f"sample files for unknown formats: {stray}"


def test_sshd_samples_cover_at_least_forty_lines_and_every_framing() -> None:
    sshd = [case for case in CASES if case.fmt == "sshd"]
    assert len(sshd) >= 40
    lines = [case.line for case in sshd]
    assert any(line.startswith("<38>1 ") for line in lines)  # RFC 5424
    assert any("+0000 " in line and "sshd-session[" in line for line in lines)  # journald
    assert any(line[:4].isdigit() and "+00:00 " in line for line in lines)  # ISO-8601
    assert any(line[:3].isalpha() for line in lines)  # classic


def test_event_ids_are_stable_and_positional() -> None:
    case = next(case for case in CASES if case.fmt == "sshd" and isinstance(case.expect, dict))
    first, again = _parse(case), _parse(case)
    assert isinstance(first, Event) and isinstance(again, Event)
    assert first.id == again.id
    other = make_parser("sshd").parse(case.line, LineMeta(TenantId("acme"), OBSERVED, "sshd", 999))
    assert isinstance(other, Event) and other.id != first.id
