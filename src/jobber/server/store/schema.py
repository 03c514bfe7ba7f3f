"""The store's tables and the numbered migrations that build them.

``TABLES`` describe the current schema and are what queries use; each migration carries its own
DDL, frozen as it was written, so that replaying old steps never depends on today's tables.
``MIGRATIONS`` are applied in order, each recorded as one row of ``jb_schema``; the version of a
database is the highest recorded number. Never edit or renumber a shipped step: append a new one.

Tables (all prefixed ``jb_`` so the store can share a database or schema with others):

* ``jb_tenants``   per-tenant counter: ``last_seq``. Incrementing it takes the row's lock, which
  serialises appends of one tenant across connections and replicas, so seqs are gapless and
  commit in order.
* ``jb_events``    ``(tenant, seq)`` primary key; the append-only trust log.
* ``jb_outbox``    messages to deliver, each tied to the event that produced it; deleted once
  delivered.
* ``jb_nonces``    ``(sender, nonce)`` primary key: the unique constraint is the replay check.
* ``jb_kv``        ``(namespace, key)`` primary key; small values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid

metadata = sa.MetaData()

schema_table = sa.Table(
    "jb_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)

tenants = sa.Table(
    "jb_tenants",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

events = sa.Table(
    "jb_events",
    metadata,
    sa.Column("tenant", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("now", sa.Float, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

outbox = sa.Table(
    "jb_outbox",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.Text, nullable=False),
    sa.Column("event_seq", sa.BigInteger, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
)

nonces = sa.Table(
    "jb_nonces",
    metadata,
    sa.Column("sender", sa.Text, primary_key=True),
    sa.Column("nonce", sa.Text, primary_key=True),
    sa.Column("expires", sa.Float, nullable=False),
)

kv = sa.Table(
    "jb_kv",
    metadata,
    sa.Column("namespace", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: applied inside the opening transaction, under the migration lock."""

    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _v1_tables(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "jb_tenants",
        md,
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "jb_events",
        md,
        sa.Column("tenant", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("now", sa.Float, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    sa.Table(
        "jb_outbox",
        md,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("event_seq", sa.BigInteger, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant", "event_seq"], ["jb_events.tenant", "jb_events.seq"], name="jb_outbox_event"
        ),
    )
    sa.Table(
        "jb_nonces",
        md,
        sa.Column("sender", sa.Text, primary_key=True),
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("expires", sa.Float, nullable=False),
    )
    sa.Table(
        "jb_kv",
        md,
        sa.Column("namespace", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )
    md.create_all(conn)


def _v2_indexes(conn: sa.Connection) -> None:
    # The delivery loop scans a tenant's outbox in id order; purge scans nonces by expiry.
    conn.execute(sa.text("CREATE INDEX jb_outbox_tenant_id ON jb_outbox (tenant, id)"))
    conn.execute(sa.text("CREATE INDEX jb_nonces_expires ON jb_nonces (expires)"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "tables: tenants, events, outbox, nonces, kv", _v1_tables),
    Migration(2, "indexes: outbox by tenant, nonces by expiry", _v2_indexes),
)

LATEST = MIGRATIONS[-1].version
