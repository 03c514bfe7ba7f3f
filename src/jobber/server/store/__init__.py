"""The durable state of one Jobber server: its event log, outbox, nonces and key/value registry.

``open_store(url)`` gives a ``Store``: SQLite (WAL) by default, PostgreSQL by URL. ``api`` holds the
interface and its invariants, ``schema`` the tables and migrations, ``sql`` the one implementation.
"""

from __future__ import annotations

from jobber.server.store.api import OutboxItem, Store, StoredEvent, StoreError, StoreNonces
from jobber.server.store.schema import LATEST as LATEST_SCHEMA
from jobber.server.store.sql import SqlStore, open_store, redact

__all__ = [
    "LATEST_SCHEMA",
    "OutboxItem",
    "SqlStore",
    "Store",
    "StoreError",
    "StoreNonces",
    "StoredEvent",
    "open_store",
    "redact",
]
