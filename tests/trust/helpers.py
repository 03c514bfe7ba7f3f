"""Shared helpers for the trust-core tests: snapshots of a ledger's state and ready-made pairs."""

from __future__ import annotations

from typing import Any

from jobber.trust.ledger import Ledger
from jobber.trust.messages import Observe
from jobber.trust.network import Network
from jobber.types import ConnectionId, InteractionId, Severity, TenantId


def snapshot(ledger: Ledger) -> dict[str, Any]:
    """Everything a ledger holds, as plain values, for before/after comparisons."""
    return {
        "views": {k: (v.r, v.s, v.rf, v.sf, v.t) for k, v in ledger.views.items()},
        "credibility": {k: (v.r, v.s, v.rf, v.sf, v.t) for k, v in ledger.credibility.items()},
        "referrals": {k: (v.r, v.s, v.rf, v.sf, v.t) for k, v in ledger.referrals.items()},
        "connections": {
            k: (c.requester, c.target, c.path, c.status, c.expires, c.clean, sorted(c.reported))
            for k, c in ledger.connections.items()
        },
        "peers": dict(ledger.peers),
        "introductions": {
            k: (r.requester, r.target, r.path, r.position, r.expires, sorted(r.seen))
            for k, r in ledger.introductions.items()
        },
        "introduced_for": {k: sorted(v) for k, v in ledger.introduced_for.items()},
        "blocks": {k: (b.until, b.offences) for k, b in ledger.blocks.items()},
        "offences": dict(ledger.offences),
        "handshakes": {k: (h.phase, h.hop, len(h.chain)) for k, h in ledger.handshakes.items()},
    }


def network(*names: str) -> Network:
    net = Network()
    for name in names:
        net.add(TenantId(name))
    return net


_serial = iter(range(10**9))


def interact(net: Network, reporter: str, conn: ConnectionId, severity: Severity,
             now: float, times: int = 1) -> None:
    """``reporter`` gives ``times`` feedback values of ``severity`` on ``conn``."""
    for _ in range(times):
        iid = InteractionId(f"{reporter}-{next(_serial)}")
        net.submit(TenantId(reporter), Observe(conn, iid, severity), now)


def trusted_pair(net: Network, requester: str, target: str, now: float,
                 clean: int = 5) -> ConnectionId:
    """Introduce ``requester`` to ``target`` through the provider and let both see clean work."""
    outcome = net.introduce(TenantId(requester), TenantId(target), now)
    conn = outcome.introduced.connection
    assert outcome.introduced.status is not None, outcome
    interact(net, target, conn, Severity.POS, now, clean)
    interact(net, requester, conn, Severity.POS, now, clean)
    return conn
