"""The provider's directory of live connections: who is connected to whom, never how much.

Endpoints report each connection's liveness in signed ``LinkNotice`` messages; the directory
keeps, per connection, the two endpoints and which of them still report it live. An edge exists
while at least one endpoint reports a live connection and none has reported it dead (a revoked
or expired connection is dead for good). Introduction paths are searched over this graph with
unit weights: the provider never learns a tenant's reputations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobber.trust.messages import LinkNotice
from jobber.trust.paths import Path, best_paths
from jobber.types import ConnectionId, TenantId


@dataclass(slots=True)
class _Link:
    a: TenantId
    b: TenantId
    dead: bool = False
    reporters: set[TenantId] = field(default_factory=set)


class Directory:
    def __init__(self) -> None:
        self._links: dict[ConnectionId, _Link] = {}
        self.graph: dict[TenantId, dict[TenantId, int]] = {}  # neighbour → live connections

    def apply(self, notice: LinkNotice) -> bool:
        """Record a notice; return whether it was accepted."""
        link = self._links.get(notice.connection)
        if link is None:
            if notice.sender not in (notice.requester, notice.target) or not notice.live:
                return False
            if notice.requester == notice.target:
                return False
            link = self._links[notice.connection] = _Link(notice.requester, notice.target)
        if notice.sender not in (link.a, link.b) or link.dead:
            return False
        was_live = bool(link.reporters)
        if notice.live:
            link.reporters.add(notice.sender)
        else:
            link.dead = True
            link.reporters.clear()
        now_live = bool(link.reporters)
        if now_live != was_live:
            self._edge(link.a, link.b, +1 if now_live else -1)
        return True

    def _edge(self, a: TenantId, b: TenantId, delta: int) -> None:
        for u, v in ((a, b), (b, a)):
            neighbours = self.graph.setdefault(u, {})
            count = neighbours.get(v, 0) + delta
            if count > 0:
                neighbours[v] = count
            else:
                neighbours.pop(v, None)

    def paths(self, source: TenantId, target: TenantId, *, k: int,
              max_introducers: int) -> list[Path]:
        return best_paths(self.graph, source, target, k=k, max_introducers=max_introducers)

    def edges(self) -> list[tuple[TenantId, TenantId]]:
        return sorted((u, v) for u, nbrs in self.graph.items() for v in nbrs if u < v)
