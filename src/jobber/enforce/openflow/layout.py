"""The static shape of Jobber's tables: the skeleton every switch gets, a prefix's classification
flows, flooding, and a host's binding flows. Pure; ``Pipeline`` inherits it.

Invariants: every flow here carries a Jobber cookie (INFRA with the config's fingerprint, or HOST
with the host's serial), so reconciliation can tell it from a previous controller's or from
someone else's; flooding never includes a middlebox port (a two-port middlebox on a flooding
switch would make a broadcast loop).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from jobber.enforce.openflow.hosts import Host, Hosts
from jobber.enforce.openflow.messages import (
    BROADCAST,
    ETH_ARP,
    ETH_IPV4,
    OFPP_CONTROLLER,
    Command,
    Cookie,
    FlowMod,
    Kind,
    Message,
    Output,
)
from jobber.types import Decision, TenantId

INGRESS, CLASSIFY, DECISION, FORWARD = 0, 1, 2, 3
METER = 1
Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Middlebox:
    """A security stack on a switch: traffic *toward* the protected tenant enters ``in_port``
    and comes back on ``out_port``; replies go the other way. It must not learn MACs."""

    in_port: int
    out_port: int


@dataclass(frozen=True, slots=True)
class Settings:
    decision_idle: int = 60  # seconds without a packet that end an interaction
    deny_seconds: int = 5  # the negative cache
    pending_seconds: int = 3  # how long a packet waits for a negotiation
    host_idle: int = 300  # a host silent this long is forgotten
    quarantine_seconds: int = 5
    parked_per_pair: int = 16
    packet_in_rate: int = 1000  # packets/s per switch to the controller (0: no meter)


@dataclass(slots=True)
class Installation:
    pair: Pair
    cookie: int
    decision: Decision
    connection: str | None
    started: float
    until: float
    live: int = 2
    packets: int = 0
    octets: int = 0


@dataclass(slots=True)
class Switch:
    dpid: int
    ports: set[int]
    installed: dict[Pair, Installation] = field(default_factory=dict)
    parked: dict[Pair, deque[tuple[int, bytes, float]]] = field(default_factory=dict)
    pending: dict[Pair, float] = field(default_factory=dict)  # pair → pending flow's end
    wanted: set[Pair] = field(default_factory=set)  # re-install when the grant arrives


class Layout:
    hosts: Hosts
    index: dict[TenantId, int]
    settings: Settings
    middleboxes: dict[int, dict[TenantId | None, Middlebox]]
    fingerprint: int

    def _skeleton(self, sw: Switch) -> list[Message]:
        infra = Cookie(0, 0, Kind.INFRA, self.fingerprint).encode()
        meter = METER if self.settings.packet_in_rate else None
        ask = (Output(OFPP_CONTROLLER),)
        msgs: list[Message] = [FlowMod(INGRESS, 400, {"in_port": p}, goto=FORWARD, cookie=infra)
                               for p in sorted(self._middlebox_ports(sw.dpid))]
        msgs += [FlowMod(INGRESS, 10, {"eth_type": ETH_IPV4}, ask, meter=meter, cookie=infra),
                 FlowMod(INGRESS, 10, {"eth_type": ETH_ARP}, ask, meter=meter, cookie=infra),
                 FlowMod(INGRESS, 0, {}, cookie=infra), FlowMod(CLASSIFY, 0, {}, cookie=infra),
                 FlowMod(DECISION, 0, {}, ask, meter=meter, cookie=infra)]
        for network, tenant in self.hosts.tenancy.prefixes:
            msgs += self._prefix_flows(str(network.network_address), str(network.netmask),
                                       network.prefixlen, tenant, infra)
        for host in self.hosts.by_ip.values():
            if host.learned_prefix:
                msgs += self._prefix_flows(host.ip, "255.255.255.255", 32, host.tenant,
                                           self._host_cookie(host))
        return msgs + self._flood(sw)

    def _prefix_flows(self, address: str, mask: str, length: int, tenant: TenantId,
                      cookie: int) -> list[Message]:
        t, dst = self.index[tenant], (address, mask)
        return [FlowMod(CLASSIFY, 1001 + 2 * length,
                        {"eth_type": ETH_IPV4, "metadata": (t, 0xFFFF), "ipv4_dst": dst},
                        goto=FORWARD, cookie=cookie),
                FlowMod(CLASSIFY, 1000 + 2 * length, {"eth_type": ETH_IPV4, "ipv4_dst": dst},
                        goto=DECISION, metadata=(t << 16, 0xFFFF0000), cookie=cookie)]

    def _flood(self, sw: Switch) -> list[Message]:
        infra = Cookie(0, 0, Kind.INFRA, self.fingerprint).encode()
        ports = tuple(Output(p) for p in sorted(sw.ports - self._middlebox_ports(sw.dpid)))
        return [FlowMod(FORWARD, 100, {"eth_dst": BROADCAST}, ports, cookie=infra),
                FlowMod(FORWARD, 0, {}, ports, cookie=infra)]

    def _middlebox_ports(self, dpid: int) -> set[int]:
        return {p for mb in self.middleboxes.get(dpid, {}).values()
                for p in (mb.in_port, mb.out_port)}

    def _host_cookie(self, host: Host) -> int:
        return Cookie(self.index[host.tenant], 0, Kind.HOST, host.serial).encode()

    def _host_flows(self, host: Host, *, delete: bool = False, dpid: int | None = None,
                    port: int | None = None) -> list[Message]:
        port = host.port if port is None else port
        cookie, t = self._host_cookie(host), self.index[host.tenant]
        flows = [FlowMod(INGRESS, 200, {"in_port": port, "eth_src": host.mac,
                                        "eth_type": ETH_IPV4, "ipv4_src": host.ip},
                         goto=CLASSIFY, metadata=(t, 0xFFFF), cookie=cookie,
                         idle_timeout=self.settings.host_idle, send_flow_removed=True),
                 FlowMod(INGRESS, 200, {"in_port": port, "eth_src": host.mac,
                                        "eth_type": ETH_ARP, "arp_spa": host.ip},
                         goto=FORWARD, cookie=cookie)]
        dpid = host.dpid if dpid is None else dpid
        keep_mac = delete and any(h is not host and h.dpid == dpid and h.port == port
                                  for h in self.hosts.with_mac(host.mac))
        if not keep_mac:
            flows.append(FlowMod(FORWARD, 200, {"eth_dst": host.mac}, (Output(port),),
                                 cookie=cookie))
        if delete:
            return [FlowMod(f.table, f.priority, f.match, command=Command.DELETE_STRICT)
                    for f in flows]
        return list(flows)
