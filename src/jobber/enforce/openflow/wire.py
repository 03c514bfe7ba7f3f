"""This project's OpenFlow messages as OpenFlow 1.3 bytes, built by os-ken once per shape.

Building an os-ken parser object and serializing it costs far more than the pipeline's own work
for a granted pair, and a busy controller sends the same few shapes again and again (a pair's
two decision flows differ from the last install only in cookie and timeouts). So ``Encoder``
serializes a ``FlowMod`` through os-ken once per *shape* — every field but the cookie and the
two timeouts — and afterwards copies those bytes and writes the cookie, the timeouts and the
transaction id in place; a ``PacketOut`` is its cached header and actions followed by the data.
Other messages (meters, flow-stats requests: a few per switch connection) go through os-ken
each time.

Invariant: ``Encoder.encode(m, xid)`` is byte for byte what os-ken's ``serialize`` gives for
``to_osken(dp, m)`` with that xid (``tests/enforce/test_wire.py`` checks it on every shape the
pipeline makes). The caches are bounded: past ``limit`` shapes they start again, empty.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from jobber.enforce.openflow.messages import (
    FlowMod,
    FlowStatsRequest,
    Message,
    MeterMod,
    PacketOut,
)

OFP_VERSION = 4
OFPT_PACKET_OUT = 13
_HEADER = struct.Struct("!BBHI")
_XID = struct.Struct("!I")  # at offset 4 of every message
_COOKIE = struct.Struct("!Q")  # FLOW_MOD: at offset 8
_TIMEOUTS = struct.Struct("!HH")  # FLOW_MOD: idle, hard at offset 26
_PACKET_OUT = struct.Struct("!BBHIIIH6x")  # header, buffer_id, in_port, actions_len
OFP_NO_BUFFER = 0xFFFFFFFF

ShapeKey = tuple[Any, ...]


def _flow_shape(m: FlowMod) -> ShapeKey:
    return (m.table, m.priority, tuple(m.match.items()), m.actions, m.goto, m.metadata, m.meter,
            m.cookie_mask, m.send_flow_removed, m.command, m.out_port)


class Encoder:
    """Our messages → wire bytes for one os-ken ``ofproto`` / ``ofproto_parser`` pair."""

    def __init__(self, build: Callable[[Message], Any], limit: int = 8192) -> None:
        self._build = build  # our message → an os-ken parser object (``app.to_osken``)
        self._limit = limit
        self._flows: dict[ShapeKey, bytes] = {}
        self._actions: dict[tuple[Any, ...], bytes] = {}

    def encode(self, m: Message, xid: int) -> bytes:
        if isinstance(m, FlowMod):
            return self._flow_mod(m, xid)
        if isinstance(m, PacketOut):
            return self._packet_out(m, xid)
        assert isinstance(m, MeterMod | FlowStatsRequest)
        return self._serialized(m, xid)

    def _serialized(self, m: Message, xid: int) -> bytes:
        msg = self._build(m)
        msg.set_xid(xid)
        msg.serialize()
        return bytes(msg.buf)

    def _flow_mod(self, m: FlowMod, xid: int) -> bytes:
        key = _flow_shape(m)
        template = self._flows.get(key)
        if template is None:
            if len(self._flows) >= self._limit:
                self._flows.clear()
            template = self._flows[key] = self._serialized(m, 0)
        buf = bytearray(template)
        _XID.pack_into(buf, 4, xid)
        _COOKIE.pack_into(buf, 8, m.cookie)
        _TIMEOUTS.pack_into(buf, 26, m.idle_timeout, m.hard_timeout)
        return bytes(buf)

    def _packet_out(self, m: PacketOut, xid: int) -> bytes:
        actions = self._actions.get(m.actions)
        if actions is None:
            if len(self._actions) >= self._limit:
                self._actions.clear()
            whole = self._serialized(PacketOut(0, b"", m.actions), 0)
            actions = self._actions[m.actions] = whole[_PACKET_OUT.size:]
        length = _PACKET_OUT.size + len(actions) + len(m.data)
        return _PACKET_OUT.pack(OFP_VERSION, OFPT_PACKET_OUT, length, xid, OFP_NO_BUFFER,
                                m.in_port, len(actions)) + actions + m.data
