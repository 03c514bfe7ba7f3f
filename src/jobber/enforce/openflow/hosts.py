"""Hosts: which (MAC, IPv4) sits on which switch port and belongs to which tenant. Pure.

A host is bound to a tenant by the inventory (its address is in a tenant's prefix, or its MAC is
listed for a tenant) and located where its first packet is seen (switch, port). The rules,
in the order they are applied to a packet from an unbound (port, MAC, address):

1. no address (or 0.0.0.0)                                        → ignore (nothing learned)
2. the address and the MAC are listed for different tenants       → spoof
3. neither the address nor the MAC belongs to any tenant          → spoof
4. the address is bound to another MAC                            → spoof (the owner is alive:
   its binding is removed only when it goes idle or its port goes away)
5. the MAC is bound to a host of another tenant                   → spoof
6. the address is bound to this MAC at another place              → move (a VM migrated)
7. the address is bound to this MAC here                          → known (a packet in flight)
8. otherwise                                                      → bind

A spoofer that copies both the MAC and the address of a live host is indistinguishable from a
migration at this layer; the move rule follows the newest location (as a learning switch does).
Not thread-safe: the pipeline owns it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from jobber.inventory import Inventory
from jobber.types import TenantId


@dataclass(frozen=True, slots=True)
class Tenancy:
    """Who owns what, as configured. A tenant's index (1-based, in sorted order) goes into
    OpenFlow metadata and cookies."""

    prefixes: tuple[tuple[ipaddress.IPv4Network, TenantId], ...]
    macs: Mapping[str, TenantId] = field(default_factory=dict)
    extra_tenants: tuple[TenantId, ...] = ()

    @property
    def tenants(self) -> tuple[TenantId, ...]:
        names = {t for _, t in self.prefixes} | set(self.macs.values()) | set(self.extra_tenants)
        return tuple(sorted(names))

    @classmethod
    def from_lists(cls, owned: Mapping[str, Iterable[str]]) -> Tenancy:
        """``{tenant: [prefix | address | MAC, …]}`` (a MAC has five colons)."""
        prefixes, macs = [], {}
        for tenant, items in owned.items():
            for item in items:
                if item.count(":") == 5:
                    macs[item.lower()] = TenantId(tenant)
                else:
                    prefixes.append((ipaddress.IPv4Network(item, strict=False), TenantId(tenant)))
        return cls(tuple(prefixes), macs, tuple(TenantId(t) for t in owned))


class Outcome(Enum):
    IGNORE = "ignore"
    SPOOF = "spoof"
    KNOWN = "known"
    MOVE = "move"
    BIND = "bind"


@dataclass(slots=True)
class Host:
    mac: str
    ip: str
    tenant: TenantId
    dpid: int
    port: int
    serial: int
    learned_prefix: bool  # its address is in no prefix: bound through its MAC


@dataclass(frozen=True, slots=True)
class Learned:
    outcome: Outcome
    reason: str
    host: Host | None = None
    previous: tuple[int, int] | None = None  # (dpid, port) it moved from


class Hosts:
    def __init__(self, tenancy: Tenancy, first_serial: int = 0) -> None:
        self.tenancy = tenancy
        self.inventory = Inventory((p, t) for p, t in tenancy.prefixes)
        self.by_ip: dict[str, Host] = {}
        self.by_serial: dict[int, Host] = {}
        self._serial = first_serial % 0x7FFF

    def tenant_of(self, ip: str | None) -> TenantId | None:
        if ip is None:
            return None
        host = self.by_ip.get(ip)
        return host.tenant if host is not None else self.inventory.tenant_of(ip)

    def with_mac(self, mac: str) -> list[Host]:
        return [h for h in self.by_ip.values() if h.mac == mac]

    def on(self, dpid: int, port: int | None = None) -> list[Host]:
        return [h for h in self.by_ip.values()
                if h.dpid == dpid and (port is None or h.port == port)]

    def learn(self, dpid: int, port: int, mac: str, ip: str | None) -> Learned:
        if not ip or ip == "0.0.0.0":
            return Learned(Outcome.IGNORE, "no source address")
        by_prefix = self.inventory.tenant_of(ip)
        by_mac = self.tenancy.macs.get(mac)
        if by_prefix and by_mac and by_prefix != by_mac:
            return Learned(Outcome.SPOOF, f"MAC {mac} of {by_mac} sends as {ip} of {by_prefix}")
        tenant = by_prefix or by_mac
        if tenant is None:
            return Learned(Outcome.SPOOF, f"{ip} ({mac}) belongs to no tenant")
        existing = self.by_ip.get(ip)
        if existing is not None and existing.mac != mac:
            return Learned(Outcome.SPOOF, f"{ip} is bound to {existing.mac}, not {mac}")
        if any(h.tenant != tenant for h in self.with_mac(mac)):
            return Learned(Outcome.SPOOF, f"MAC {mac} already speaks for another tenant")
        if existing is not None:
            if (existing.dpid, existing.port) == (dpid, port):
                return Learned(Outcome.KNOWN, "bound here", existing)
            previous = (existing.dpid, existing.port)
            existing.dpid, existing.port = dpid, port
            return Learned(Outcome.MOVE, f"{ip} moved from {previous} to {(dpid, port)}",
                           existing, previous)
        self._serial = self._serial % 0x7FFF + 1
        host = Host(mac, ip, tenant, dpid, port, self._serial, by_prefix is None)
        self.by_ip[ip] = host
        self.by_serial[host.serial] = host
        return Learned(Outcome.BIND, f"{ip} ({mac}) of {tenant} at {(dpid, port)}", host)

    def forget(self, host: Host) -> None:
        if self.by_ip.get(host.ip) is host:
            del self.by_ip[host.ip]
        if self.by_serial.get(host.serial) is host:
            del self.by_serial[host.serial]
