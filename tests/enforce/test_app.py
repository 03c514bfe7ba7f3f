"""The os-ken app's dispatch: handlers return at once; negotiation happens on the worker.

The app runs its real os-ken event thread; switches are fake datapaths that record what they
are sent, and the negotiator is an honest fake whose grants for one pair take two seconds.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("os_ken")

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER
from os_ken.ofproto import ofproto_parser, ofproto_v1_3, ofproto_v1_3_parser

from jobber.client.negotiator import Grant, Subscriber
from jobber.enforce.openflow.app import JobberApp, Wiring
from jobber.enforce.openflow.hosts import Tenancy
from jobber.enforce.openflow.packet import ipv4
from jobber.enforce.openflow.pipeline import Pipeline
from jobber.types import Decision, TenantId

OWNED = {"t1": ["10.97.1.0/24"], "t2": ["10.97.2.0/24"], "t3": ["10.97.3.0/24"]}
SLOW = frozenset(("t1", "t2"))


class FakeNegotiator:
    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.reports: list[tuple[str, str]] = []

    async def grant(self, requester: TenantId, target: TenantId) -> Grant:
        if frozenset((requester, target)) == SLOW:
            await asyncio.sleep(2.0)
        return Grant(requester, target, Decision.DIRECT, f"{requester}#1", time.time() + 600,
                     "fake")

    async def report_interaction(self, tenant: TenantId, connection: str, interaction: str,
                                 started: float, ended: float, packets: int = 0,
                                 octets: int = 0) -> str | None:
        self.reports.append((tenant, interaction))
        return None

    def subscribe(self, callback: Subscriber) -> None:
        self.subscribers.append(callback)

    async def watch(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class OFPPacketOut:
    in_port: int
    data: bytes


class FakeDatapath:
    ofproto = ofproto_v1_3
    ofproto_parser = ofproto_v1_3_parser

    def __init__(self, dpid: int) -> None:
        self.id = dpid
        self.ports = {p: None for p in range(1, 9)}
        self.xid = 0
        self.sent: list[tuple[float, Any]] = []

    def send(self, buf: bytes) -> bool:
        """What os-ken's ``Datapath.send`` gets: messages back to back; parsed to objects."""
        at, offset = time.monotonic(), 0
        while offset < len(buf):
            version, kind, length, xid = struct.unpack_from("!BBHI", buf, offset)
            one = buf[offset:offset + length]
            if kind == ofproto_v1_3.OFPT_FLOW_MOD:
                self.sent.append((at, ofproto_parser.msg(self, version, kind, length, xid, one)))
            elif kind == ofproto_v1_3.OFPT_PACKET_OUT:  # os-ken parses no controller's PACKET_OUT
                in_port, actions_len = struct.unpack_from("!IH", one, 12)
                self.sent.append((at, OFPPacketOut(in_port, one[24 + actions_len:])))
            else:  # nor a METER_MOD or a stats request: keep the bytes
                self.sent.append((at, one))
            offset += length
        return True

    def kinds(self) -> list[str]:
        return [type(m).__name__ for _, m in self.sent]


@pytest.fixture
def app() -> Iterator[tuple[JobberApp, FakeNegotiator]]:
    negotiator = FakeNegotiator()
    pipeline = Pipeline(Tenancy.from_lists(OWNED))
    application = JobberApp(jobber=Wiring(pipeline, lambda: negotiator, tick_seconds=0.2))
    app_manager.register_app(application)
    application.start()
    try:
        yield application, negotiator
    finally:
        application.stop()
        app_manager.unregister_app(application)


def switch_up(app: JobberApp, dp: FakeDatapath) -> None:
    ev = ofp_event.EventOFPStateChange(dp)
    ev.state = MAIN_DISPATCHER
    app._send_event(ev, MAIN_DISPATCHER)


def packet_in(app: JobberApp, dp: FakeDatapath, in_port: int, table: int, data: bytes) -> None:
    parser = ofproto_v1_3_parser
    msg = parser.OFPPacketIn(dp, buffer_id=ofproto_v1_3.OFP_NO_BUFFER, total_len=len(data),
                             reason=ofproto_v1_3.OFPR_NO_MATCH, table_id=table, cookie=0,
                             match=parser.OFPMatch(in_port=in_port), data=data)
    app._send_event(ofp_event.EventOFPPacketIn(msg), MAIN_DISPATCHER)


def wait_for(check: Any, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.005)
    raise AssertionError(f"not within {seconds} s")


def test_a_slow_negotiation_does_not_delay_another_switch(
        app: tuple[JobberApp, FakeNegotiator]) -> None:
    application, _ = app
    one, two = FakeDatapath(1), FakeDatapath(2)
    for dp in (one, two):
        switch_up(application, dp)
    wait_for(lambda: one.sent and two.sent, 2.0)
    before_one, before_two = len(one.sent), len(two.sent)
    b1_to_a1 = ipv4("02:00:00:00:02:01", "02:00:00:00:01:01", "10.97.2.1", "10.97.1.1")
    packet_in(application, one, 3, 2, b1_to_a1)  # negotiation takes 2 s
    sent = time.monotonic()
    c1_to_a1 = ipv4("02:00:00:00:03:01", "02:00:00:00:01:01", "10.97.3.1", "10.97.1.1")
    packet_in(application, two, 4, 0, c1_to_a1)  # switch 2: learn a host, re-inject
    took = wait_for(lambda: "OFPPacketOut" in [type(m).__name__
                                               for _, m in two.sent[before_two:]], 1.5)
    # half the slow negotiation: waiting behind it would take 2 s; a loaded CI machine may add
    # tenths of a second on its own
    assert took < 1.0, f"switch 2 waited {took:.3f} s behind switch 1's negotiation"
    packet_in(application, two, 4, 2, c1_to_a1)  # a fast pair on switch 2: decided at once
    wait_for(lambda: len([m for _, m in two.sent[before_two:]
                          if type(m).__name__ == "OFPFlowMod" and m.table_id == 2]) >= 3, 1.5)
    assert time.monotonic() - sent < 1.5  # before the slow grant (2 s) could have freed it
    assert not [m for _, m in one.sent[before_one:]
                if type(m).__name__ == "OFPFlowMod" and m.priority == 100]
    wait_for(lambda: any(type(m).__name__ == "OFPPacketOut" for _, m in one.sent[before_one:]),
             4.0)
    assert time.monotonic() - sent >= 1.9  # released only when the slow grant arrived


def test_a_pushed_revocation_rewrites_the_pairs_flows(
        app: tuple[JobberApp, FakeNegotiator]) -> None:
    application, negotiator = app
    dp = FakeDatapath(7)
    switch_up(application, dp)
    wait_for(lambda: dp.sent, 2.0)
    c1_to_a1 = ipv4("02:00:00:00:03:01", "02:00:00:00:01:01", "10.97.3.1", "10.97.1.1")
    packet_in(application, dp, 4, 2, c1_to_a1)
    wait_for(lambda: "OFPPacketOut" in dp.kinds(), 2.0)
    mark = len(dp.sent)
    revoked = Grant(TenantId("t3"), TenantId("t1"), Decision.DENY, "t3#1", time.time() + 60,
                    "revoked")
    loop = application.worker._loop
    loop.call_soon_threadsafe(negotiator.subscribers[0], revoked)
    wait_for(lambda: len(dp.sent) >= mark + 3, 2.0)
    mods = [m for _, m in dp.sent[mark:]]
    assert mods[0].command == ofproto_v1_3.OFPFC_DELETE and mods[0].cookie_mask
    assert all(not m.instructions for m in mods[1:3])  # both directions dropped
