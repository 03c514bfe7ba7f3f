"""The software flow table keeps OpenFlow 1.3's rules (as Open vSwitch applies them)."""

from __future__ import annotations

from jobber.enforce.openflow.flowtable import FlowTable
from jobber.enforce.openflow.messages import (
    ALL_MASK,
    OFPP_CONTROLLER,
    OFPTT_ALL,
    PAIR_MASK,
    Command,
    Cookie,
    FlowMod,
    Kind,
    Output,
    RemovedReason,
    pair_cookie,
)
from jobber.enforce.openflow.packet import ipv4

PKT = ipv4("02:00:00:00:00:01", "02:00:00:00:00:02", "10.97.1.1", "10.97.2.1")


def test_highest_priority_wins_goto_and_metadata_carry_on() -> None:
    table = FlowTable()
    table.apply(FlowMod(0, 1, {}, (Output(OFPP_CONTROLLER),)), 0)
    table.apply(FlowMod(0, 5, {"in_port": 1}, goto=1, metadata=(0x2A, 0xFF)), 0)
    table.apply(FlowMod(1, 5, {"metadata": (0x2A, 0xFF), "ipv4_dst": ("10.97.2.0",
                                                                      "255.255.255.0")},
                        (Output(4), Output(1))), 0)
    trace = table.process(PKT, 1, 0)
    assert trace.tables == [0, 1] and trace.outputs == [4]  # never back out of the input port
    assert table.process(PKT, 2, 0).controller == 0


def test_add_replaces_same_match_and_priority_keeping_counters() -> None:
    table = FlowTable()
    table.apply(FlowMod(0, 5, {"in_port": 1}, (Output(2),)), 0)
    table.process(PKT, 1, 0)
    table.apply(FlowMod(0, 5, {"in_port": 1}, (Output(3),)), 1)
    assert len(table.flows()) == 1 and table.stats()[0].packets == 1
    assert table.process(PKT, 1, 1).outputs == [3]


def test_masked_cookie_delete_removes_one_pair_only() -> None:
    table = FlowTable()
    for lo, hi, serial in ((1, 2, 1), (1, 2, 2), (1, 3, 3)):
        cookie = Cookie(lo, hi, Kind.DECISION, serial).encode()
        table.apply(FlowMod(2, 100, {"metadata": (lo | hi << 16 | serial << 32, ALL_MASK)},
                            cookie=cookie, send_flow_removed=True), 0)
    removed = table.apply(FlowMod(OFPTT_ALL, 0, {}, cookie=pair_cookie(1, 2),
                                  cookie_mask=PAIR_MASK, command=Command.DELETE), 5)
    assert len(removed) == 2 and {r.reason for r in removed} == {RemovedReason.DELETE}
    assert [Cookie.decode(f.cookie) for f in table.flows()] == [Cookie(1, 3, Kind.DECISION, 3)]


def test_strict_delete_and_timeouts() -> None:
    table = FlowTable()
    table.apply(FlowMod(0, 5, {"in_port": 1}, idle_timeout=10, send_flow_removed=True), 0)
    table.apply(FlowMod(0, 6, {"in_port": 1}, hard_timeout=20), 0)
    table.apply(FlowMod(0, 6, {}, command=Command.DELETE_STRICT), 0)  # no such entry
    assert len(table.flows()) == 2
    assert table.expire(5) == []
    table.process(PKT, 1, 8)  # hits priority 6 only: the idle one stays idle
    (idle,) = table.expire(10)
    assert idle.reason is RemovedReason.IDLE_TIMEOUT
    assert table.expire(20) == [] and table.flows() == []  # hard, without a notice


def test_cookies_round_trip_and_foreign_cookies_are_not_ours() -> None:
    cookie = Cookie(3, 9, Kind.DECISION, 0x1234, requester_is_hi=True)
    assert Cookie.decode(cookie.encode()) == cookie
    assert Cookie.decode(0x1234) is None
    assert cookie.encode() & PAIR_MASK == pair_cookie(3, 9)
