"""What the Jobber server asks of its durable state, independent of the database behind it.

The server keeps four things: the tenant's trust events (an append-only log replayed on start, since
the trust core is deterministic), an outbox of messages still to deliver, the nonces seen recently
(replay protection) and a small key/value registry (the provider's key registry and directory).

Invariants every implementation keeps:

* ``append`` writes the event and its outbox messages in one transaction, and they are durable when
  it returns: a crash after it returns loses neither, a failure before it returns writes neither.
* Sequence numbers are unique and strictly increasing per tenant, with no gaps, and they become
  visible in order: a reader that has seen ``seq`` never later sees a new event ``<= seq``. This
  holds with several server replicas of one tenant sharing a database.
* ``remember_nonce`` is True for exactly one caller of a given ``(sender, nonce)``, whatever the
  number of threads, connections or replicas racing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from jobber.errors import JobberError


class StoreError(JobberError):
    """The store could not be opened, read or written; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One entry of a tenant's event log."""

    seq: int
    now: float
    kind: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting to be delivered; ``attempts`` counts the failed deliveries so far."""

    id: int
    recipient: str
    payload: bytes
    attempts: int
    event_seq: int = 0  # the event whose handling produced it


class Store(Protocol):
    """The durable state of one Jobber server."""

    def append(
        self,
        tenant: str,
        now: float,
        kind: str,
        payload: bytes,
        outbox: Sequence[tuple[str, bytes]] = (),
    ) -> int:
        """Append an event and enqueue ``(recipient, payload)`` messages atomically; its seq."""
        ...

    def events(self, tenant: str, after: int = 0) -> Iterator[StoredEvent]:
        """The tenant's events with ``seq > after``, in order.

        Read lazily in pages, so errors (``StoreError``) surface while iterating, and the caller
        may append while it replays; events appended meanwhile are yielded too.
        """
        ...

    def pending_outbox(self, tenant: str, limit: int = 1000) -> list[OutboxItem]:
        """Undelivered messages of the tenant, oldest first."""
        ...

    def mark_delivered(self, ids: Iterable[int]) -> None:
        """Forget delivered messages (unknown ids are ignored, so it is idempotent)."""
        ...

    def mark_event_delivered(self, tenant: str, seq: int) -> None:
        """Forget every outbox message of event ``seq`` (idempotent)."""
        ...

    def mark_attempt(self, id: int) -> None:
        """Count one failed delivery of a message."""
        ...

    def remember_nonce(self, sender: str, nonce: str, expires: float) -> bool:
        """True if ``(sender, nonce)`` is new (and now stored), False if it was already seen.

        A seen nonce stays refused until ``purge_nonces`` drops it, even past ``expires``: by then
        the envelope's clock window rejects the message anyway.
        """
        ...

    def purge_nonces(self, now: float) -> int:
        """Drop nonces that expired at or before ``now``; how many were dropped."""
        ...

    def put(self, namespace: str, key: str, value: bytes) -> None:
        """Set ``key`` in ``namespace`` (insert or replace)."""
        ...

    def get(self, namespace: str, key: str) -> bytes | None:
        """The value of ``key`` in ``namespace``, or None."""
        ...

    def items(self, namespace: str) -> list[tuple[str, bytes]]:
        """Every ``(key, value)`` of ``namespace``, sorted by key."""
        ...

    def delete(self, namespace: str, key: str) -> None:
        """Remove ``key`` from ``namespace`` (absent keys are ignored)."""
        ...

    def schema_version(self) -> int:
        """The schema version the database is at."""
        ...

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
        ...


class StoreNonces:
    """A ``Store`` as the envelope checker's nonce cache: ``remember(sender, nonce, expires)``."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def remember(self, sender: str, nonce: str, expires: float) -> bool:
        return self._store.remember_nonce(sender, nonce, expires)
