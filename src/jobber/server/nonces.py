"""Nonce stores: where seen nonces live until their message could no longer pass the clock window.

``NonceStore`` is the protocol ``Verifier`` records a fully valid message's nonce through;
``MemoryNonces`` is a bounded in-memory one (tests, servers without a store). The persistent one
is ``jobber.server.store.StoreNonces``.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Protocol

from jobber.server.codec import WireError
from jobber.types import TenantId


class NonceStore(Protocol):
    """Where seen nonces live until their message could no longer pass the clock window."""

    def remember(self, sender: TenantId, nonce: str, expires: float) -> bool:
        """True if ``(sender, nonce)`` is new and is now recorded until ``expires``."""
        ...


class MemoryNonces:
    """A bounded in-memory ``NonceStore``: for tests and for a server without a store.

    Entries are dropped once ``clock()`` passes their expiry (use the clock that feeds
    ``Verifier.open``). A sender with ``per_sender`` live nonces, or a store with ``capacity``,
    is refused with 429 rather than forgetting a live nonce (which would let a replay through).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, per_sender: int = 10_000,
                 capacity: int = 1_000_000) -> None:
        self.clock = clock
        self.per_sender = per_sender
        self.capacity = capacity
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, str, str]] = []
        self._count: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def remember(self, sender: TenantId, nonce: str, expires: float) -> bool:
        self._purge(self.clock())
        if (sender, nonce) in self._seen:
            return False
        count = self._count.get(sender, 0)
        if count >= self.per_sender or len(self._seen) >= self.capacity:
            raise WireError(429, f"too many messages from {sender[:64]!r} within the clock window")
        self._seen[sender, nonce] = expires
        self._count[sender] = count + 1
        heapq.heappush(self._expiry, (expires, sender, nonce))
        return True

    def _purge(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, sender, nonce = heapq.heappop(self._expiry)
            del self._seen[sender, nonce]
            left = self._count[sender] - 1
            if left:
                self._count[sender] = left
            else:
                del self._count[sender]


