"""A software model of one OpenFlow 1.3 switch's flow tables, for tests (Faucet's idea).

It applies this project's ``FlowMod`` / ``PacketOut`` values the way Open vSwitch does and
answers "where does this packet go?": the output ports, whether the controller is asked, and
which entries it hit. Time is a parameter (``now``), so timeouts are exact and tests are fast.

Semantics kept (OpenFlow 1.3 §6.4, as OVS implements them): ADD replaces an entry with the same
table, priority and match (keeping its counters); MODIFY rewrites the instructions of matching
entries; DELETE removes entries whose match contains the given one and whose cookie matches under
the mask (in one table or all), DELETE_STRICT only the identical one; removed entries that asked
for it produce a flow-removed notice with their counters; a table miss drops; output to the input
port is skipped (as OVS does); write-metadata applies under its mask; meters never drop here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from jobber.enforce.openflow.messages import (
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    OFPP_TABLE,
    OFPTT_ALL,
    Command,
    FlowEntry,
    FlowMod,
    MatchValue,
    PacketOut,
    RemovedReason,
)
from jobber.enforce.openflow.packet import parse


@dataclass(slots=True)
class Entry:
    flow: FlowMod
    installed: float
    used: float
    packets: int = 0
    octets: int = 0

    @property
    def key(self) -> tuple[int, int, tuple[tuple[str, MatchValue], ...]]:
        return self.flow.table, self.flow.priority, tuple(sorted(self.flow.match.items()))


@dataclass(frozen=True, slots=True)
class Removed:
    entry: FlowEntry
    reason: RemovedReason


@dataclass(slots=True)
class Trace:
    """What became of one packet."""

    outputs: list[int] = field(default_factory=list)
    controller: int | None = None  # the table that sent it to the controller
    hits: list[FlowMod] = field(default_factory=list)
    metadata: int = 0

    @property
    def dropped(self) -> bool:
        return not self.outputs and self.controller is None

    @property
    def tables(self) -> list[int]:
        return [f.table for f in self.hits]


def _number(name: str, value: object) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    if text.count(":") == 5:
        return int(text.replace(":", ""), 16)
    if name in ("ipv4_src", "ipv4_dst", "arp_spa", "arp_tpa") or text.count(".") == 3:
        return int(ipaddress.IPv4Address(text))
    return int(text)


def _matches(match: dict[str, MatchValue] | object, fields: dict[str, int | str]) -> bool:
    assert isinstance(match, dict)
    for name, want in match.items():
        if name not in fields:
            return False
        have = _number(name, fields[name])
        if isinstance(want, tuple):
            value, mask = _number(name, want[0]), _number(name, want[1])
            if have & mask != value & mask:
                return False
        elif have != _number(name, want):
            return False
    return True


class FlowTable:
    """The tables of one switch."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def flows(self, table: int | None = None) -> list[FlowMod]:
        return [e.flow for e in self.entries if table is None or e.flow.table == table]

    def entry_of(self, flow: FlowMod) -> Entry:
        return next(e for e in self.entries if e.flow is flow)

    def apply(self, msg: FlowMod, now: float) -> list[Removed]:
        if msg.command is Command.ADD:
            new = Entry(msg, now, now)
            for i, old in enumerate(self.entries):
                if old.key == new.key:
                    new.packets, new.octets = old.packets, old.octets
                    self.entries[i] = new
                    return []
            self.entries.append(new)
            return []
        strict = msg.command in (Command.MODIFY_STRICT, Command.DELETE_STRICT)
        chosen = [e for e in self.entries if self._selects(e, msg, strict)]
        if msg.command in (Command.MODIFY, Command.MODIFY_STRICT):
            for e in chosen:
                e.flow = FlowMod(e.flow.table, e.flow.priority, e.flow.match, msg.actions,
                                 msg.goto, msg.metadata, msg.meter, e.flow.cookie,
                                 idle_timeout=e.flow.idle_timeout,
                                 hard_timeout=e.flow.hard_timeout,
                                 send_flow_removed=e.flow.send_flow_removed)
            return []
        return self._remove(chosen, RemovedReason.DELETE, now)

    @staticmethod
    def _selects(e: Entry, msg: FlowMod, strict: bool) -> bool:
        f = e.flow
        if msg.table != OFPTT_ALL and f.table != msg.table:
            return False
        if (f.cookie ^ msg.cookie) & msg.cookie_mask:
            return False
        if strict:
            return f.priority == msg.priority and dict(f.match) == dict(msg.match)
        return all(f.match.get(k) == v for k, v in msg.match.items())

    def _remove(self, chosen: list[Entry], reason: RemovedReason, now: float) -> list[Removed]:
        gone = {id(e) for e in chosen}
        self.entries = [e for e in self.entries if id(e) not in gone]
        return [Removed(FlowEntry(e.flow.table, e.flow.priority, e.flow.match, e.flow.cookie,
                                  e.packets, e.octets, now - e.installed), reason)
                for e in chosen if e.flow.send_flow_removed]

    def expire(self, now: float) -> list[Removed]:
        removed: list[Removed] = []
        for e in list(self.entries):
            f = e.flow
            if f.hard_timeout and now - e.installed >= f.hard_timeout:
                removed += self._remove([e], RemovedReason.HARD_TIMEOUT, now)
            elif f.idle_timeout and now - e.used >= f.idle_timeout:
                removed += self._remove([e], RemovedReason.IDLE_TIMEOUT, now)
        return removed

    def stats(self) -> list[FlowEntry]:
        return [FlowEntry(e.flow.table, e.flow.priority, e.flow.match, e.flow.cookie, e.packets,
                          e.octets) for e in self.entries]

    def process(self, data: bytes, in_port: int, now: float, *, count: bool = True) -> Trace:
        """Run one packet through the tables from table 0."""
        trace = Trace()
        pkt = parse(data)
        if pkt is None:
            return trace
        fields: dict[str, int | str] = {**pkt.fields(), "in_port": in_port}
        table: int | None = 0
        while table is not None:
            fields["metadata"] = trace.metadata
            candidates = [e for e in self.entries
                          if e.flow.table == table and _matches(dict(e.flow.match), fields)]
            if not candidates:
                return trace  # table miss: drop
            best = max(candidates, key=lambda e: e.flow.priority)
            flow = best.flow
            trace.hits.append(flow)
            if count:
                best.packets += 1
                best.octets += len(data)
                best.used = now
            for action in flow.actions:
                if action.port == OFPP_CONTROLLER:
                    trace.controller = table
                elif action.port == OFPP_IN_PORT:
                    trace.outputs.append(in_port)
                elif action.port != in_port:
                    trace.outputs.append(action.port)
            if flow.metadata is not None:
                value, mask = flow.metadata
                trace.metadata = (trace.metadata & ~mask) | (value & mask)
            table = flow.goto
        return trace

    def packet_out(self, msg: PacketOut, now: float) -> Trace:
        if any(a.port == OFPP_TABLE for a in msg.actions):
            return self.process(msg.data, msg.in_port, now)
        return Trace(outputs=[a.port for a in msg.actions])
