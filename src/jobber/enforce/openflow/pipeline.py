"""The Jobber OpenFlow 1.3 pipeline: switch events and ``now`` in, OpenFlow messages out. Pure.

Tables (priorities in brackets; docs/openflow.md draws the whole picture)::

  0 ingress   [400] in_port = a middlebox port → goto 3 (back from the security stack)
              [200] in_port + eth_src + ipv4_src of a bound host → metadata(src tenant), goto 1
              [200] in_port + eth_src + arp_spa of a bound host → goto 3
              [150] a spoofed source → drop (QUARANTINE, a few seconds)
              [ 10] IPv4 / ARP → controller (metered): learn the host
              [  0] anything else → drop
  1 classify  [1000+2·len+1] src tenant t, ipv4_dst in a prefix of t → goto 3 (intra-tenant)
              [1000+2·len]   ipv4_dst in a prefix of t → metadata(dst tenant), goto 2
              [  0] destination owned by no tenant → drop
  2 decision  [100] metadata (src, dst) → DIRECT goto 3 | INSPECT out middlebox | DENY drop
              [ 10] PENDING: the pair is being negotiated → drop (the first packet is parked)
              [  0] miss → controller (metered)
  3 forward   [200] eth_dst of a host on this switch → its port
              [100] broadcast → every port but the middlebox's;  [0] miss → the same flood

Invariants:

* a pair's two directions are installed, rewritten and removed together, under one cookie
  (``messages.Cookie``); a pair-masked delete precedes every install over something the switch
  may hold (an installation, a pending flow, a reconciled pair), so a switch never holds two
  decisions for one pair;
* DIRECT and INSPECT flows carry the grant's expiry as hard timeout and send flow-removed; the
  interaction ends when both are gone and is reported once, with both directions' counters;
* nothing inter-tenant is forwarded without a grant; INSPECT on a switch without a middlebox for
  the target is enforced as DENY (fail closed, never open);
* parked packets are bounded per pair and switch, and dropped after ``pending_seconds``.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from jobber.client.negotiator import Grant
from jobber.enforce.openflow.hosts import Host, Hosts, Learned, Outcome, Tenancy
from jobber.enforce.openflow.layout import (
    CLASSIFY,
    DECISION,
    FORWARD,
    INGRESS,
    METER,
    Installation,
    Layout,
    Middlebox,
    Pair,
    Settings,
    Switch,
)
from jobber.enforce.openflow.messages import (
    ALL_MASK,
    ETH_IPV4,
    JOBBER_MASK,
    MAGIC,
    MAX_PORT,
    OFPTT_ALL,
    PAIR_MASK,
    Command,
    Cookie,
    FlowEntry,
    FlowMod,
    FlowStatsRequest,
    Kind,
    Message,
    MeterMod,
    Output,
    PacketOut,
    RemovedReason,
    pair_cookie,
)
from jobber.enforce.openflow.packet import Packet, parse
from jobber.types import Decision, TenantId


@dataclass(frozen=True, slots=True)
class ToSwitch:
    dpid: int
    message: Message


@dataclass(frozen=True, slots=True)
class Negotiate:
    requester: TenantId
    target: TenantId


@dataclass(frozen=True, slots=True)
class InteractionEnded:
    connection: str
    interaction: str
    tenants: tuple[TenantId, TenantId]
    started: float
    ended: float
    packets: int
    octets: int


Effect = ToSwitch | Negotiate | InteractionEnded


class Pipeline(Layout):
    def __init__(self, tenancy: Tenancy,
                 middleboxes: Mapping[int, Mapping[TenantId | None, Middlebox]] | None = None,
                 settings: Settings | None = None, first_serial: int = 0) -> None:
        self.hosts = Hosts(tenancy, first_serial)
        self.middleboxes = {d: dict(m) for d, m in (middleboxes or {}).items()}
        self.settings = settings or Settings()
        self.tenants = tenancy.tenants
        self.index = {t: i + 1 for i, t in enumerate(self.tenants)}
        self.switches: dict[int, Switch] = {}
        self.grants: dict[Pair, Grant] = {}
        self.negotiating: dict[Pair, float] = {}
        self.installations: dict[tuple[int, int], Installation] = {}
        self._serial = first_serial % 0x7FFF  # the app seeds it from the clock: a restarted
        # controller's cookies differ from its predecessor's
        described = repr((tenancy.prefixes, sorted(tenancy.macs.items()),
                          sorted((d, sorted(m.items(), key=str))
                                 for d, m in self.middleboxes.items()), self.settings))
        self.fingerprint = zlib.crc32(described.encode()) & 0x7FFF  # same config, same cookie

    # --- switches -------------------------------------------------------------------------

    def switch_up(self, dpid: int, ports: set[int], now: float) -> list[Effect]:
        """A switch (re)connected: lay the skeleton, then read its Jobber flows to reconcile."""
        self.switch_down(dpid)
        sw = self.switches[dpid] = Switch(dpid, {p for p in ports if p < MAX_PORT})
        rate = self.settings.packet_in_rate
        msgs: list[Message] = [MeterMod(METER, rate, max(rate // 10, 10), delete=True),
                               MeterMod(METER, rate, max(rate // 10, 10))] if rate else []
        msgs += self._skeleton(sw)
        for host in self.hosts.on(dpid):
            msgs += self._host_flows(host)
        msgs.append(FlowStatsRequest(MAGIC << 56, JOBBER_MASK))
        return [ToSwitch(dpid, m) for m in msgs]

    def switch_down(self, dpid: int) -> None:
        """Forget a switch's installations (a reconnect reconciles them from its flows)."""
        self.switches.pop(dpid, None)
        for key in [k for k in self.installations if k[0] == dpid]:
            del self.installations[key]

    def ports_changed(self, dpid: int, ports: set[int]) -> list[Effect]:
        sw = self.switches.get(dpid)
        if sw is None:
            return []
        sw.ports = {p for p in ports if p < MAX_PORT}
        effects: list[Effect] = [ToSwitch(dpid, m) for m in self._flood(sw)]
        for host in self.hosts.on(dpid):
            if host.port not in sw.ports:  # its port went away: the VM left
                effects += self._forget(host)
        return effects

    # --- packet-in ------------------------------------------------------------------------

    def packet_in(self, dpid: int, in_port: int, table: int, data: bytes,
                  now: float) -> list[Effect]:
        sw, pkt = self.switches.get(dpid), parse(data)
        if sw is None or pkt is None:
            return []
        if table == INGRESS:
            return self._learn(sw, in_port, pkt, data)
        if table == DECISION:
            return self._decide(sw, in_port, pkt, data, now)
        return []

    def _learn(self, sw: Switch, in_port: int, pkt: Packet, data: bytes) -> list[Effect]:
        if in_port in self._middlebox_ports(sw.dpid):
            return []
        learned: Learned = self.hosts.learn(sw.dpid, in_port, pkt.eth_src, pkt.ip_src)
        out = ToSwitch(sw.dpid, PacketOut(in_port, data))
        if learned.outcome is Outcome.IGNORE:
            return []
        if learned.outcome is Outcome.SPOOF:
            field_ = "arp_spa" if pkt.is_arp else "ipv4_src"
            cookie = Cookie(0, 0, Kind.QUARANTINE).encode()
            return [ToSwitch(sw.dpid, FlowMod(
                INGRESS, 150, {"in_port": in_port, "eth_src": pkt.eth_src,
                               "eth_type": pkt.eth_type, field_: pkt.ip_src or "0.0.0.0"},
                cookie=cookie, hard_timeout=self.settings.quarantine_seconds))]
        host = learned.host
        assert host is not None
        if learned.outcome is Outcome.KNOWN:
            return [out]
        effects: list[Effect] = []
        if learned.previous is not None:  # moved: unbind the old place first
            old_dpid, old_port = learned.previous
            effects += [ToSwitch(old_dpid, m) for m in self._host_flows(
                host, delete=True, dpid=old_dpid, port=old_port)]
        effects += [ToSwitch(sw.dpid, m) for m in self._host_flows(host)]
        if host.learned_prefix and learned.outcome is Outcome.BIND:
            for other in self.switches.values():
                effects += [ToSwitch(other.dpid, m) for m in self._prefix_flows(
                    host.ip, "255.255.255.255", 32, host.tenant, self._host_cookie(host))]
        return [*effects, out]

    def _forget(self, host: Host) -> list[Effect]:
        effects: list[Effect] = [ToSwitch(host.dpid, m)
                                 for m in self._host_flows(host, delete=True)]
        if host.learned_prefix:
            cookie = self._host_cookie(host)
            for sw in self.switches.values():
                effects.append(ToSwitch(sw.dpid, FlowMod(CLASSIFY, 0, {}, cookie=cookie,
                                                         cookie_mask=ALL_MASK,
                                                         command=Command.DELETE)))
        self.hosts.forget(host)
        return effects

    # --- decisions ------------------------------------------------------------------------

    def _pair(self, a: TenantId, b: TenantId) -> Pair:
        i, j = self.index[a], self.index[b]
        return (i, j) if i <= j else (j, i)

    def _decide(self, sw: Switch, in_port: int, pkt: Packet, data: bytes,
                now: float) -> list[Effect]:
        src, dst = self.hosts.tenant_of(pkt.ip_src), self.hosts.tenant_of(pkt.ip_dst)
        if src is None or dst is None or src == dst or pkt.eth_type != ETH_IPV4:
            return []
        pair, out = self._pair(src, dst), ToSwitch(sw.dpid, PacketOut(in_port, data))
        held = sw.installed.get(pair)
        if held is not None and now < held.until:
            return [out] if held.decision is not Decision.DENY else []
        grant = self.grants.get(pair)
        if grant is not None and grant.is_valid(now):
            return [*self._install(sw, grant, now), out]
        queue = sw.parked.setdefault(pair, deque())
        if len(queue) < self.settings.parked_per_pair:
            queue.append((in_port, data, now))
        effects: list[Effect] = []
        if sw.pending.get(pair, 0.0) <= now:
            sw.pending[pair] = now + self.settings.pending_seconds
            meta = self.index[src] | self.index[dst] << 16
            effects.append(ToSwitch(sw.dpid, FlowMod(
                DECISION, 10, {"metadata": (meta, 0xFFFFFFFF)},
                cookie=Cookie(*pair, Kind.PENDING).encode(),
                hard_timeout=self.settings.pending_seconds)))
        if self.negotiating.get(pair, -math.inf) < now - 2 * self.settings.pending_seconds:
            self.negotiating[pair] = now
            effects.append(Negotiate(src, dst))
        return effects

    def granted(self, grant: Grant, now: float) -> list[Effect]:
        """A negotiation's answer, or a pushed demotion / revocation: (re)write the pair's flows
        on every switch that holds them or waits for them, and release what was parked."""
        if grant.requester not in self.index or grant.target not in self.index:
            return []
        pair = self._pair(grant.requester, grant.target)
        self.negotiating.pop(pair, None)
        self.grants[pair] = grant
        effects: list[Effect] = []
        for sw in self.switches.values():
            if pair in sw.installed or pair in sw.parked or pair in sw.wanted:
                effects += self._install(sw, grant, now)
        return effects

    def _install(self, sw: Switch, grant: Grant, now: float) -> list[Effect]:
        pair, s = self._pair(grant.requester, grant.target), self.settings
        req, tgt = self.index[grant.requester], self.index[grant.target]
        remaining = max(1, min(65535, math.ceil(grant.expires - now)))
        decision = grant.decision
        middlebox = self.middleboxes.get(sw.dpid, {})
        box = middlebox.get(grant.target) or middlebox.get(None)
        if decision is Decision.INSPECT and box is None:
            decision = Decision.DENY  # nowhere to inspect: fail closed
        self._serial = self._serial % 0x7FFF + 1
        cookie = Cookie(pair[0], pair[1], Kind.DECISION, self._serial, req == pair[1]).encode()
        forward: tuple[Output, ...] = ()
        backward: tuple[Output, ...] = ()
        goto: int | None = None
        if decision is Decision.DIRECT:
            goto = FORWARD
        elif decision is Decision.INSPECT and box is not None:
            forward, backward = (Output(box.in_port),), (Output(box.out_port),)
        deny = decision is Decision.DENY
        idle = min(s.deny_seconds, remaining) if deny else s.decision_idle
        hard = min(s.deny_seconds, remaining) if deny else remaining
        msgs: list[Message] = []
        if pair in sw.installed or pair in sw.pending or pair in sw.wanted:
            msgs.append(FlowMod(DECISION, 0, {}, cookie=pair_cookie(*pair),
                                cookie_mask=PAIR_MASK, command=Command.DELETE))
        for meta, actions in ((req | tgt << 16, forward), (tgt | req << 16, backward)):
            msgs.append(FlowMod(DECISION, 100, {"metadata": (meta, 0xFFFFFFFF)}, actions,
                                goto=goto, cookie=cookie, idle_timeout=idle, hard_timeout=hard,
                                send_flow_removed=not deny))
        inst = Installation(pair, cookie, decision, grant.connection, now, now + hard)
        sw.installed[pair] = inst
        if not deny:
            self.installations[(sw.dpid, cookie)] = inst
        sw.pending.pop(pair, None)
        sw.wanted.discard(pair)
        parked = sw.parked.pop(pair, deque())
        if not deny:
            msgs += [PacketOut(port, data) for port, data, _ in parked]
        return [ToSwitch(sw.dpid, m) for m in msgs]

    # --- flows ending, reconciliation, time ---------------------------------------------------

    def flow_removed(self, dpid: int, entry: FlowEntry, reason: RemovedReason,
                     now: float) -> list[Effect]:
        cookie = Cookie.decode(entry.cookie)
        if cookie is None:
            return []
        if cookie.kind is Kind.HOST:
            host = self.hosts.by_serial.get(cookie.serial)
            if host is None or host.dpid != dpid or entry.table != INGRESS or \
                    reason is RemovedReason.DELETE:
                return []
            return self._forget(host)  # idle: the host is gone
        inst = self.installations.get((dpid, entry.cookie))
        if cookie.kind is not Kind.DECISION or inst is None:
            return []
        inst.live -= 1
        inst.packets += entry.packets
        inst.octets += entry.octets
        effects: list[Effect] = []
        sw = self.switches.get(dpid)
        if sw is not None and sw.installed.get(inst.pair) is inst:
            del sw.installed[inst.pair]
            if inst.live > 0:  # one direction ended: end the other with it
                effects.append(ToSwitch(dpid, FlowMod(DECISION, 0, {}, cookie=inst.cookie,
                                                      cookie_mask=ALL_MASK,
                                                      command=Command.DELETE)))
        if inst.live > 0:
            return effects
        del self.installations[(dpid, entry.cookie)]
        if inst.connection is None or inst.packets == 0:
            return effects  # no traffic: not an interaction
        ended = now - self.settings.decision_idle if reason is RemovedReason.IDLE_TIMEOUT \
            else now
        lo, hi = self.tenants[inst.pair[0] - 1], self.tenants[inst.pair[1] - 1]
        return [*effects, InteractionEnded(
            inst.connection, f"of-{inst.cookie:016x}-{int(inst.started * 1000)}", (lo, hi),
            inst.started, max(inst.started, ended), inst.packets, inst.octets)]

    def flow_stats(self, dpid: int, entries: list[FlowEntry], now: float) -> list[Effect]:
        """Reconcile: delete Jobber flows this pipeline did not install (a previous controller's,
        a forgotten host's, an outdated skeleton's); re-install live grants the switch lost."""
        sw = self.switches.get(dpid)
        if sw is None:
            return []
        stale: set[int] = set()
        present = {e.cookie for e in entries}
        again: set[tuple[Pair, bool]] = set()
        for entry in entries:
            c = Cookie.decode(entry.cookie)
            if c is None:
                continue
            if c.kind is Kind.INFRA:
                bad = c.serial != self.fingerprint
            elif c.kind is Kind.HOST:
                host = self.hosts.by_serial.get(c.serial)
                bad = host is None or host.dpid != dpid or \
                    self.index.get(host.tenant) != c.lo
            elif c.kind is Kind.DECISION:
                inst = sw.installed.get((c.lo, c.hi))
                bad = inst is None or inst.cookie != entry.cookie
                if bad and 0 < c.lo <= c.hi <= len(self.tenants):
                    again.add(((c.lo, c.hi), c.requester_is_hi))
            else:
                bad = c.kind is Kind.PENDING and (c.lo, c.hi) not in sw.pending
            if bad:
                stale.add(entry.cookie)
        effects: list[Effect] = [ToSwitch(dpid, FlowMod(
            OFPTT_ALL, 0, {}, cookie=c, cookie_mask=ALL_MASK, command=Command.DELETE))
            for c in sorted(stale)]
        for pair, inst in list(sw.installed.items()):
            if inst.cookie not in present:  # the switch lost it
                del sw.installed[pair]
                again.add((pair, False))
        for pair, requester_is_hi in sorted(again):
            sw.wanted.add(pair)
            grant = self.grants.get(pair)
            if grant is not None and grant.is_valid(now):
                effects += self._install(sw, grant, now)
            elif pair not in self.negotiating:
                self.negotiating[pair] = now
                a, b = self.tenants[pair[0] - 1], self.tenants[pair[1] - 1]
                effects.append(Negotiate(b, a) if requester_is_hi else Negotiate(a, b))
        return effects

    def tick(self, now: float) -> int:
        """Drop parked packets that waited too long and expired grants; returns packets dropped."""
        dropped, limit = 0, now - self.settings.pending_seconds
        for sw in self.switches.values():
            for pair, queue in list(sw.parked.items()):
                while queue and queue[0][2] < limit:
                    queue.popleft()
                    dropped += 1
                if not queue:
                    del sw.parked[pair]
        for pair in [p for p, g in self.grants.items() if not g.is_valid(now)]:
            del self.grants[pair]
        return dropped
