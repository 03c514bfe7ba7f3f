"""The encoder's bytes are os-ken's, byte for byte, for every message the pipeline makes.

The fabric runs the pipeline through a day of events (hosts learned and moving, a MAC-bound
host, DIRECT, INSPECT and DENY pairs, a spoof, a revocation, idle timeouts, a reconnect); every
message it sends a switch is encoded twice — by ``Encoder`` (templates, patched in place) and by
os-ken directly — and must come out the same, the second time of a shape as well as the first.
"""

from __future__ import annotations

import pytest

pytest.importorskip("os_ken")

from jobber.enforce.openflow.app import _OF13, to_osken
from jobber.enforce.openflow.layout import Middlebox, Settings
from jobber.enforce.openflow.messages import Message, PacketOut
from jobber.enforce.openflow.packet import arp, ipv4
from jobber.enforce.openflow.pipeline import ToSwitch
from jobber.enforce.openflow.wire import Encoder
from jobber.types import Decision

from .fabric import Fabric

OWNED = {"t1": ["10.97.1.0/24", "02:00:00:00:01:09"], "t2": ["10.97.2.0/24"],
         "t3": ["10.97.3.0/24"]}


class Recording(Fabric):
    def __init__(self) -> None:
        self.sent: list[Message] = []
        super().__init__(OWNED, middlebox=Middlebox(7, 8), dpids=(1, 2),
                         settings=Settings(packet_in_rate=500),
                         decisions={frozenset(("t3", "t1")): Decision.INSPECT,
                                    frozenset(("t3", "t2")): Decision.DENY})

    def deliver(self, effect: ToSwitch) -> None:
        self.sent.append(effect.message)
        super().deliver(effect)


def test_encoded_bytes_are_os_kens() -> None:
    fabric = Recording()
    hosts = [(1, "02:00:00:00:01:01", "10.97.1.1"), (3, "02:00:00:00:02:01", "10.97.2.1"),
             (4, "02:00:00:00:03:01", "10.97.3.1"), (5, "02:00:00:00:01:09", "198.51.100.9")]
    for port, mac, ip in hosts:
        fabric.send(1, port, arp(mac, ip, "10.97.0.254"))
    for (p1, m1, i1) in hosts:
        for (_, m2, i2) in hosts:
            if i1 != i2:
                fabric.send(1, p1, ipv4(m1, m2, i1, i2))
    fabric.send(1, 6, ipv4("02:00:00:00:09:09", hosts[1][1], "10.97.1.1", "10.97.2.1"))
    fabric.push(fabric.grant_for("t2", "t1", Decision.DENY))  # a revocation
    fabric.send(1, 6, arp(hosts[0][1], hosts[0][2], "10.97.1.2"))  # a1 moves to port 6
    fabric.advance(61)
    fabric.run(fabric.pipeline.switch_up(2, {1, 2, 7, 8}, fabric.now))
    fabric.advance(301)
    fabric.sent.append(PacketOut(3, b"\x01" * 60))
    assert len({type(m) for m in fabric.sent}) == 4, "every kind of message"
    encoder = Encoder(lambda m: to_osken(_OF13, m))
    for rounds in range(2):
        for xid, message in enumerate(fabric.sent, start=1 + rounds * 7919):
            expected = to_osken(_OF13, message)
            expected.set_xid(xid)
            expected.serialize()
            assert encoder.encode(message, xid) == bytes(expected.buf), message
