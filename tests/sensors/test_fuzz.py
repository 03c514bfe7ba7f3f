"""Fuzzing: whatever a parser is given, it returns an event, nothing, or an Unparsed — never raises.

Three kinds of input: arbitrary text, arbitrary bytes, and sample lines mutated (characters
inserted, deleted, replaced), which reach much deeper into each parser than random text does.
Every event that comes out must also survive the JSON round trip.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobber.sensors.event import Event
from jobber.sensors.parsers import PARSERS, LineMeta, Unparsed, make_parser
from jobber.sensors.sensor import Sensor
from jobber.types import TenantId
from tests.sensors.samples import OBSERVED, all_cases

FORMATS = sorted(PARSERS)
LINES = {fmt: [case.line for case in all_cases() if case.fmt == fmt] for fmt in FORMATS}
META = LineMeta(TenantId("acme"), OBSERVED, "fuzz", 1)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _check(fmt: str, line: str | bytes, warm: bool = True) -> None:
    parser = make_parser(fmt)
    if warm:  # give header-reading parsers the header of their sample file first
        for earlier in LINES[fmt][:12]:
            parser.parse(earlier, META)
    result = parser.parse(line, META)
    assert result is None or isinstance(result, Event | Unparsed)
    if isinstance(result, Event):
        assert Event.from_json(result.to_json()) == result
        assert len(result.raw) <= 1024


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(line=st.text(max_size=600))
def test_any_text(fmt: str, line: str) -> None:
    _check(fmt, line)


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(line=st.binary(max_size=600))
def test_any_bytes(fmt: str, line: bytes) -> None:
    _check(fmt, line, warm=False)


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> str:
    line = draw(st.sampled_from(LINES[fmt]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(line)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.text(max_size=6) | st.sampled_from(
            ["-", " ", "\t", ":", "[", "]", "{", "}", '"', "9" * 25, "1e999", "NaN", "::ffff:"]))
        if action == "insert":
            line = line[:at] + piece + line[at:]
        elif action == "delete":
            line = line[:at] + line[at + len(piece) + 1:]
        else:
            line = line[:at] + piece + line[at + len(piece):]
    return line


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(data=st.data())
def test_mutated_sample_lines(fmt: str, data: st.DataObject) -> None:
    _check(fmt, data.draw(mutated(fmt)))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
KEYS = ["timestamp", "event_type", "src_ip", "dest_ip", "src_port", "dest_port", "proto", "alert",
        "flow", "anomaly", "report", "time", "peer", "local", "verdict", "confidence", "ts",
        "id.orig_h", "id.orig_p", "note", "src", "attributes"]


@pytest.mark.parametrize("fmt", ["suricata", "app-report", "zeek-conn", "zeek-notice"])
@SETTINGS
@given(record=st.dictionaries(st.sampled_from(KEYS), JSON_VALUES, max_size=10))
def test_json_records_with_the_right_keys(fmt: str, record: dict[str, object]) -> None:
    _check(fmt, json.dumps(record))


@SETTINGS
@given(lines=st.lists(st.text(max_size=200) | st.binary(max_size=200), max_size=30))
def test_sensor_counts_every_line_once(lines: list[str | bytes]) -> None:
    sensor = Sensor(make_parser("sshd"), None, TenantId("acme"))
    for line in lines:
        sensor.feed(line, OBSERVED)
    tally = sensor.tally
    assert tally.lines == len(lines) == tally.events + tally.ignored + tally.unparsed
