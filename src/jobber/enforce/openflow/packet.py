"""The few packet headers the pipeline reads (Ethernet, ARP, IPv4, TCP/UDP ports), parsed from
bytes without os-ken; and builders of such packets for tests and the load generator.

Invariant: ``parse`` never raises on short or odd input: what it cannot read is ``None``.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

from jobber.enforce.openflow.messages import ETH_ARP, ETH_IPV4


@dataclass(frozen=True, slots=True)
class Packet:
    eth_src: str
    eth_dst: str
    eth_type: int
    ip_src: str | None = None  # IPv4 source, or the ARP sender address
    ip_dst: str | None = None  # IPv4 destination, or the ARP target address
    ip_proto: int | None = None

    @property
    def is_arp(self) -> bool:
        return self.eth_type == ETH_ARP

    def fields(self) -> dict[str, int | str]:
        """OXM fields as a switch would match them."""
        out: dict[str, int | str] = {"eth_src": self.eth_src, "eth_dst": self.eth_dst,
                                     "eth_type": self.eth_type}
        if self.eth_type == ETH_IPV4 and self.ip_src and self.ip_dst:
            out.update(ipv4_src=self.ip_src, ipv4_dst=self.ip_dst)
            if self.ip_proto is not None:
                out["ip_proto"] = self.ip_proto
        elif self.eth_type == ETH_ARP and self.ip_src and self.ip_dst:
            out.update(arp_spa=self.ip_src, arp_tpa=self.ip_dst)
        return out


def mac_text(raw: bytes) -> str:
    return raw.hex(":")


def mac_bytes(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def parse(data: bytes) -> Packet | None:
    """Ethernet and, where present, ARP or IPv4 headers; ``None`` when shorter than Ethernet."""
    if len(data) < 14:
        return None
    dst, src, eth_type = mac_text(data[0:6]), mac_text(data[6:12]), (data[12] << 8) | data[13]
    body = data[14:]
    if eth_type == ETH_IPV4 and len(body) >= 20 and body[0] >> 4 == 4:
        return Packet(src, dst, eth_type, socket.inet_ntoa(body[12:16]),
                      socket.inet_ntoa(body[16:20]), body[9])
    if eth_type == ETH_ARP and len(body) >= 28:
        return Packet(src, dst, eth_type, socket.inet_ntoa(body[14:18]),
                      socket.inet_ntoa(body[24:28]))
    return Packet(src, dst, eth_type)


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(eth_src: str, eth_dst: str, ip_src: str, ip_dst: str, proto: int = 17,
         payload: bytes = b"\x30\x39\x00\x07\x00\x0c\x00\x00jobb") -> bytes:
    """An Ethernet + IPv4 frame (default: a small UDP datagram)."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0,
                         ipaddress.IPv4Address(ip_src).packed,
                         ipaddress.IPv4Address(ip_dst).packed)
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return mac_bytes(eth_dst) + mac_bytes(eth_src) + struct.pack("!H", ETH_IPV4) + header + \
        payload


def arp(eth_src: str, ip_src: str, ip_dst: str, *, reply_to: str | None = None) -> bytes:
    """An ARP request (broadcast) or, with ``reply_to`` (a MAC), a reply."""
    op, target_mac = (2, reply_to) if reply_to else (1, "00:00:00:00:00:00")
    eth_dst = reply_to or "ff:ff:ff:ff:ff:ff"
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, op, mac_bytes(eth_src),
                       ipaddress.IPv4Address(ip_src).packed, mac_bytes(target_mac),
                       ipaddress.IPv4Address(ip_dst).packed)
    return mac_bytes(eth_dst) + mac_bytes(eth_src) + struct.pack("!H", ETH_ARP) + body
