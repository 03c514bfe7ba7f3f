"""OpenFlow 1.3 messages as this project's plain values, and the cookie layout.

The pipeline speaks only these frozen dataclasses; ``app.py`` translates them to os-ken parser
objects and ``flowtable.py`` applies them to a software switch. Nothing here imports os-ken.

Match dictionaries use os-ken's OXM field names (``in_port``, ``eth_src``, ``ipv4_dst``,
``metadata`` …); a value is exact, or a ``(value, mask)`` pair.

Cookie layout (64 bits), so that one masked delete removes everything Jobber installed for a
tenant pair, and a flow read back from a switch says what it was for::

    63..56  0x4A  ('J': a Jobber flow; anything else is someone else's and is never touched)
    55..40  lo    tenant index (the smaller of the pair; a host's tenant for HOST flows)
    39..24  hi    tenant index (the larger of the pair; 0 for HOST / INFRA flows)
    23..16  kind  INFRA, HOST, DECISION, PENDING, QUARANTINE
    15       dir  1 when the requester is ``hi`` (DECISION flows), so a restart knows who asked
    14..0   serial  a per-install counter (with the install time: the interaction id)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

OFPP_IN_PORT = 0xFFFFFFF8
OFPP_TABLE = 0xFFFFFFF9
OFPP_FLOOD = 0xFFFFFFFB
OFPP_ALL = 0xFFFFFFFC
OFPP_CONTROLLER = 0xFFFFFFFD
OFPP_LOCAL = 0xFFFFFFFE
OFPP_ANY = 0xFFFFFFFF
OFPTT_ALL = 0xFF
OFPCML_NO_BUFFER = 0xFFFF
MAX_PORT = 0xFFFFFF00  # ports above this are reserved (LOCAL, CONTROLLER …)

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
BROADCAST = "ff:ff:ff:ff:ff:ff"

MatchValue = int | str | tuple[int, int] | tuple[str, str]


class Command(IntEnum):
    """OFPFC_*: the values are OpenFlow 1.3's."""

    ADD = 0
    MODIFY = 1
    MODIFY_STRICT = 2
    DELETE = 3
    DELETE_STRICT = 4


class RemovedReason(IntEnum):
    """OFPRR_*: why a switch removed a flow."""

    IDLE_TIMEOUT = 0
    HARD_TIMEOUT = 1
    DELETE = 2
    GROUP_DELETE = 3
    METER_DELETE = 4


@dataclass(frozen=True, slots=True)
class Output:
    port: int
    max_len: int = OFPCML_NO_BUFFER


@dataclass(frozen=True, slots=True)
class FlowMod:
    """One OFPT_FLOW_MOD. No actions and no ``goto`` means drop."""

    table: int
    priority: int
    match: Mapping[str, MatchValue]
    actions: tuple[Output, ...] = ()
    goto: int | None = None
    metadata: tuple[int, int] | None = None  # write-metadata (value, mask)
    meter: int | None = None
    cookie: int = 0
    cookie_mask: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0
    send_flow_removed: bool = False
    command: Command = Command.ADD
    out_port: int = OFPP_ANY


@dataclass(frozen=True, slots=True)
class PacketOut:
    """Send ``data`` as if it arrived on ``in_port`` (``OFPP_TABLE``: through the pipeline)."""

    in_port: int
    data: bytes
    actions: tuple[Output, ...] = (Output(OFPP_TABLE),)


@dataclass(frozen=True, slots=True)
class MeterMod:
    """A packets-per-second meter that drops above ``rate`` (``delete`` removes it first)."""

    meter_id: int
    rate: int
    burst: int
    delete: bool = False


@dataclass(frozen=True, slots=True)
class FlowStatsRequest:
    """Ask for every flow whose cookie matches (for reconciliation)."""

    cookie: int
    cookie_mask: int
    table: int = OFPTT_ALL


Message = FlowMod | PacketOut | MeterMod | FlowStatsRequest


@dataclass(frozen=True, slots=True)
class FlowEntry:
    """A flow as a switch reports it (flow stats or flow removed)."""

    table: int
    priority: int
    match: Mapping[str, MatchValue]
    cookie: int
    packets: int = 0
    octets: int = 0
    duration: float = 0.0


# --- cookies -----------------------------------------------------------------------------------

MAGIC = 0x4A
JOBBER_MASK = 0xFF << 56
PAIR_MASK = 0xFFFFFFFFFF << 24
ALL_MASK = (1 << 64) - 1


class Kind(IntEnum):
    INFRA = 1  # the static skeleton: table misses, middlebox ports, prefixes, flooding
    HOST = 2  # a host's binding (table 0) and its MAC (table 3)
    DECISION = 3  # a tenant pair's DIRECT / INSPECT / DENY flows (table 2)
    PENDING = 4  # a pair being negotiated: further packets wait (are dropped) meanwhile
    QUARANTINE = 5  # a spoofed source, dropped for a few seconds


@dataclass(frozen=True, slots=True)
class Cookie:
    lo: int
    hi: int
    kind: Kind
    serial: int = 0
    requester_is_hi: bool = False

    def encode(self) -> int:
        return (MAGIC << 56 | (self.lo & 0xFFFF) << 40 | (self.hi & 0xFFFF) << 24
                | int(self.kind) << 16 | int(self.requester_is_hi) << 15
                | (self.serial & 0x7FFF))

    @classmethod
    def decode(cls, value: int) -> Cookie | None:
        """The Jobber cookie in ``value``; ``None`` for someone else's flow."""
        if value >> 56 != MAGIC:
            return None
        try:
            kind = Kind((value >> 16) & 0xFF)
        except ValueError:
            return None
        return cls((value >> 40) & 0xFFFF, (value >> 24) & 0xFFFF, kind, value & 0x7FFF,
                   bool(value >> 15 & 1))


def pair_cookie(lo: int, hi: int) -> int:
    """The cookie value to delete a pair's flows with, under ``PAIR_MASK``."""
    return MAGIC << 56 | (lo & 0xFFFF) << 40 | (hi & 0xFFFF) << 24
