"""The standard event: frozen, bounded, and lossless through JSON (orjson or the standard
library)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobber.sensors import event as event_module
from jobber.sensors.event import RAW_MAX, Endpoint, Event, Kind, SensorError
from jobber.types import Severity, TenantId

ATTR = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20) | (
    st.floats(allow_nan=False, allow_infinity=False))
ENDPOINTS = st.none() | st.builds(Endpoint, st.sampled_from(["198.51.100.7", "2001:db8::1"]),
                                  st.none() | st.integers(0, 65535))
EVENTS = st.builds(
    Event,
    id=st.text(max_size=20),
    time=st.floats(0, 4e9),
    observed=st.floats(0, 4e9),
    reporter=st.text(max_size=10).map(TenantId),
    kind=st.sampled_from(list(Kind)),
    severity=st.sampled_from(list(Severity)),
    confidence=st.floats(0, 1),
    src=ENDPOINTS,
    dst=ENDPOINTS,
    protocol=st.none() | st.sampled_from(["tcp", "udp", "icmp"]),
    attributes=st.dictionaries(st.text(max_size=10), ATTR, max_size=5),
    raw=st.text(max_size=1100),
)


@given(EVENTS)
def test_json_round_trip_loses_nothing(original: Event) -> None:
    assert Event.from_json(original.to_json()) == original
    assert Event.from_dict(json.loads(original.to_json())) == original


@given(EVENTS)
def test_json_round_trip_without_orjson(original: Event) -> None:
    saved = event_module._orjson
    event_module._orjson = None
    try:
        assert Event.from_json(original.to_json()) == original
    finally:
        event_module._orjson = saved


def test_events_are_frozen_slotted_and_bounded() -> None:
    item = Event("x", 1.0, 2.0, TenantId("acme"), Kind.NET_FLOW, Severity.POS,
                 attributes={"a": 1}, raw="r" * (RAW_MAX * 2))
    assert dataclasses.is_dataclass(item) and not hasattr(item, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.kind = Kind.IDS_ALERT  # type: ignore[misc]
    with pytest.raises(TypeError):
        item.attributes["a"] = 2  # type: ignore[index]
    assert len(item.raw) == RAW_MAX
    assert item.to_dict()["kind"] == "net.flow" and item.to_dict()["severity"] == "POS"


@pytest.mark.parametrize("text", [
    "not json", "[1]", '{"id": "x"}',
    '{"id":"x","time":1,"observed":1,"reporter":"a","kind":"bogus","severity":"LOW"}',
    '{"id":"x","time":1,"observed":1,"reporter":"a","kind":"net.flow","severity":"LOW",'
    '"src":{"address":"a","port":70000}}',
    '{"id":"x","time":1,"observed":1,"reporter":"a","kind":"net.flow","severity":"LOW",'
    '"attributes":{"k":[1]}}',
])
def test_malformed_documents_raise_sensor_error(text: str) -> None:
    with pytest.raises(SensorError):
        Event.from_json(text)
