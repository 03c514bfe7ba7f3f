"""``SqlStore``: the ``Store`` on SQLAlchemy 2 Core, one class for SQLite and PostgreSQL.

Back-ends, chosen by URL (``open_store``):

* ``sqlite:///path/to/jobber.db`` (the default, embedded): WAL journal with
  ``synchronous=NORMAL``, so a returned ``append`` survives a crash of the process (SIGKILL,
  OOM, a bug) but an OS crash or power loss may roll back the last commits (never corrupting
  the file); ``sqlite:///path.db?synchronous=full`` fsyncs every commit and survives those too,
  at about a sixth of the throughput (docs/decisions.md, docs/benchmarks.md); ``foreign_keys=ON``; a
  busy timeout so several processes may share the file. One connection per store, guarded by a
  lock, so threads take turns; writes open with ``BEGIN IMMEDIATE`` (the write lock up front, so
  two writers never deadlock upgrading a read lock). ``sqlite://`` is an in-memory store for tests.
* ``postgresql://`` or ``postgresql+psycopg://user:password@host:port/db`` (psycopg 3): a
  connection pool, normal (synchronous) commits. Several replicas may share the database.

Invariants: per-tenant seqs come from ``jb_tenants.last_seq``, bumped by an upsert that holds the
tenant's row lock until commit, so they are gapless, unique and visible in seq order under any
concurrency. Migrations run at open in one transaction under a lock (SQLite: the write lock;
PostgreSQL: a transaction-scoped advisory lock per schema), so two processes opening at once apply
each step once. Every SQLAlchemy or driver exception leaves this module as a ``StoreError`` whose
message names the store with its password masked, what failed and what to do.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.pool import StaticPool

from jobber.server.store import schema as s
from jobber.server.store.api import OutboxItem, StoredEvent, StoreError

BUSY_TIMEOUT_MS = 10_000
"""How long an SQLite writer waits for another process's write lock before failing."""

PAGE = 1000
"""Events are read in pages of this many rows, so no transaction stays open while a caller loops."""

_CHUNK = 500  # ids per DELETE ... IN (...), well under every driver's parameter limit
_ADVISORY_CLASS = 0x4A42  # "JB": the advisory-lock namespace of Jobber's migrations
_LOCK_SCHEMA = "SELECT pg_advisory_xact_lock(:cls, hashtext(coalesce(current_schema(), '')))"


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``, even when it does not parse."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # any unparsable text: mask everything between ':' and '@'
        head, sep, tail = url.rpartition("@")
        if not sep:
            return url
        scheme, colon, rest = head.partition("://")
        user = rest.split(":", 1)[0]
        return f"{scheme}{colon}{user}:***@{tail}" if colon else f"***@{tail}"


def _parse(url: str) -> sa.URL:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"store URL {redact(url)!r} does not parse: use sqlite:///path/to/jobber.db or "
            "postgresql+psycopg://user:password@host:port/database"
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        unknown = set(parsed.query) - {"synchronous"}
        sync = str(parsed.query.get("synchronous", "normal")).lower()
        if unknown or sync not in ("normal", "full"):
            raise StoreError(f"store URL {redact(url)!r}: the only SQLite option is "
                             "synchronous=normal|full")
        return parsed.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"store URL {redact(url)!r}: unsupported back-end {parsed.drivername!r} "
        "(supported: sqlite, postgresql, postgresql+psycopg)"
    )


class SqlStore:
    """The ``Store`` on SQLite or PostgreSQL; safe to share between threads."""

    def __init__(self, url: str) -> None:
        self._url = _parse(url)
        self._shown = self._url.render_as_string(hide_password=True)
        self._password = self._url.password if isinstance(self._url.password, str) else None
        self.is_sqlite = self._url.get_backend_name() == "sqlite"
        self._closed = False
        # SQLite: one connection, one writer at a time in this process; PostgreSQL: the pool.
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        )
        self._engine = self._create_engine()
        self._prepare_statements()
        try:
            self._check_journal()
            self._migrate()
        except BaseException:
            self._engine.dispose()
            raise

    def _prepare_statements(self) -> None:
        """The hot path's statements, built once: each call only binds parameters (building a
        statement per call cost more than running it)."""
        self._bump = (
            self._insert(s.tenants)
            .values(tenant=sa.bindparam("tenant"), last_seq=1)
            .on_conflict_do_update(
                index_elements=[s.tenants.c.tenant],
                set_={"last_seq": s.tenants.c.last_seq + 1},
            )
            .returning(s.tenants.c.last_seq)
        )
        self._nonce = (
            self._insert(s.nonces)
            .on_conflict_do_nothing(index_elements=[s.nonces.c.sender, s.nonces.c.nonce])
            .returning(s.nonces.c.sender)  # a row iff inserted (psycopg's rowcount may be -1)
        )
        o = s.outbox.c
        self._forget_event = s.outbox.delete().where(
            o.tenant == sa.bindparam("t"), o.event_seq == sa.bindparam("q"))

    # -- opening -------------------------------------------------------------------------------

    def _create_engine(self) -> sa.Engine:
        if not self.is_sqlite:
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in self._url.query:
                connect_args["connect_timeout"] = 10
            return sa.create_engine(self._url, pool_pre_ping=True, connect_args=connect_args)
        database = self._url.database or ":memory:"
        if database != ":memory:":
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"store {self._shown}: cannot create the directory of {database!r}: {exc}"
                ) from exc
        self.synchronous = str(self._url.query.get("synchronous", "normal")).upper()
        engine = sa.create_engine(
            self._url.set(query={}),
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        sync = self.synchronous

        def configure(dbapi_connection: Any, record: Any) -> None:
            _configure_sqlite(dbapi_connection, record, sync)

        sa.event.listen(engine, "connect", configure)
        return engine

    def _check_journal(self) -> None:
        if not self.is_sqlite or (self._url.database or ":memory:") == ":memory:":
            return
        with self._tx("open the database", write=False) as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        if str(mode).lower() != "wal":
            raise StoreError(
                f"store {self._shown}: SQLite refused the WAL journal (mode is {mode!r}); "
                "put the database on a local file system"
            )

    def _migrate(self) -> None:
        with self._tx("open the store and migrate its schema", write=True) as conn:
            if not self.is_sqlite:
                conn.execute(
                    sa.text(_LOCK_SCHEMA),
                    {"cls": _ADVISORY_CLASS},
                )
            s.schema_table.create(conn, checkfirst=True)
            current = conn.execute(sa.select(sa.func.max(s.schema_table.c.version))).scalar() or 0
            if current > s.LATEST:
                raise StoreError(
                    f"store {self._shown}: the database is at schema version {current}, newer "
                    f"than this Jobber knows ({s.LATEST}); upgrade Jobber or use another database"
                )
            for step in s.MIGRATIONS:
                if step.version > current:
                    step.apply(conn)
                    conn.execute(
                        s.schema_table.insert().values(
                            version=step.version,
                            description=step.description,
                            applied_at=time.time(),
                        )
                    )

    # -- transactions and errors ---------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self, what: str, *, write: bool) -> Iterator[sa.Connection]:
        """One transaction; ``what`` completes "could not ..." in the error message."""
        if self._closed:
            raise StoreError(f"store {self._shown}: could not {what}: the store is closed")
        with self._lock:
            try:
                with self._engine.connect() as conn, conn.begin():
                    if self.is_sqlite:  # the driver is in autocommit mode: we say when to begin
                        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
                    yield conn
            except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
                raise self._error(what, exc) from exc

    def _error(self, what: str, exc: Exception) -> StoreError:
        orig = getattr(exc, "orig", None)
        reason = " ".join(str(orig if orig is not None else exc).split())[:300]
        if self._password:
            reason = reason.replace(self._password, "***")
        return StoreError(f"store {self._shown}: could not {what}: {reason} ({self._hint(exc)})")

    def _hint(self, exc: Exception) -> str:
        text = str(exc).lower()
        if isinstance(exc, sa.exc.IntegrityError):
            return "a constraint rejected the write; nothing of this call was written"
        if self.is_sqlite and "locked" in text:
            return "another process held the database's write lock too long; retry, or find it"
        if self.is_sqlite and ("unable to open" in text or "readonly" in text):
            return "check that the database file and its directory exist and are writable"
        if not self.is_sqlite and isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            return (
                "check that PostgreSQL is running and reachable at the URL's host and port and "
                "that the role, password and database exist (for tests: make pg)"
            )
        return "nothing of this call was written"

    # -- the event log and the outbox ----------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        return (sqlite_dialect.insert if self.is_sqlite else pg_dialect.insert)(table)

    def append(
        self,
        tenant: str,
        now: float,
        kind: str,
        payload: bytes,
        outbox: Sequence[tuple[str, bytes]] = (),
    ) -> int:
        with self._tx(f"append a {kind!r} event for tenant {tenant!r}", write=True) as conn:
            seq = int(conn.execute(self._bump, {"tenant": tenant}).scalar_one())
            conn.execute(s.events.insert(), {"tenant": tenant, "seq": seq, "now": now,
                                             "kind": kind, "payload": bytes(payload)})
            if outbox:
                conn.execute(
                    s.outbox.insert(),
                    [
                        {
                            "tenant": tenant,
                            "event_seq": seq,
                            "recipient": recipient,
                            "payload": bytes(message),
                            "attempts": 0,
                        }
                        for recipient, message in outbox
                    ],
                )
        return seq

    def events(self, tenant: str, after: int = 0) -> Iterator[StoredEvent]:
        e = s.events.c
        last = after
        while True:
            query = (
                sa.select(e.seq, e.now, e.kind, e.payload)
                .where(e.tenant == tenant, e.seq > last)
                .order_by(e.seq)
                .limit(PAGE)
            )
            with self._tx(f"read the events of tenant {tenant!r}", write=False) as conn:
                rows = conn.execute(query).all()
            for seq, now, kind, payload in rows:
                yield StoredEvent(int(seq), float(now), str(kind), bytes(payload))
            if len(rows) < PAGE:
                return
            last = int(rows[-1].seq)

    def pending_outbox(self, tenant: str, limit: int = 1000) -> list[OutboxItem]:
        o = s.outbox.c
        query = (
            sa.select(o.id, o.recipient, o.payload, o.attempts, o.event_seq)
            .where(o.tenant == tenant)
            .order_by(o.id)
            .limit(limit)
        )
        with self._tx(f"read the outbox of tenant {tenant!r}", write=False) as conn:
            rows = conn.execute(query).all()
        return [OutboxItem(int(i), str(r), bytes(p), int(a), int(q)) for i, r, p, a, q in rows]

    def mark_delivered(self, ids: Iterable[int]) -> None:
        todo = list(ids)
        if not todo:
            return
        with self._tx("remove delivered messages from the outbox", write=True) as conn:
            for start in range(0, len(todo), _CHUNK):
                chunk = todo[start : start + _CHUNK]
                conn.execute(s.outbox.delete().where(s.outbox.c.id.in_(chunk)))

    def mark_event_delivered(self, tenant: str, seq: int) -> None:
        with self._tx(f"remove event {seq}'s delivered messages", write=True) as conn:
            conn.execute(self._forget_event, {"t": tenant, "q": seq})

    def mark_attempt(self, id: int) -> None:
        o = s.outbox.c
        with self._tx(f"count a delivery attempt of outbox message {id}", write=True) as conn:
            conn.execute(s.outbox.update().where(o.id == id).values(attempts=o.attempts + 1))

    # -- nonces --------------------------------------------------------------------------------

    def remember_nonce(self, sender: str, nonce: str, expires: float) -> bool:
        with self._tx(f"remember a nonce of {sender!r}", write=True) as conn:
            row = conn.execute(self._nonce, {"sender": sender, "nonce": nonce,
                                             "expires": expires}).first()
            return row is not None

    def purge_nonces(self, now: float) -> int:
        with self._tx("purge expired nonces", write=True) as conn:
            purged = conn.execute(
                s.nonces.delete().where(s.nonces.c.expires <= now).returning(s.nonces.c.sender)
            )
            return len(purged.all())

    # -- key/value registry --------------------------------------------------------------------

    def put(self, namespace: str, key: str, value: bytes) -> None:
        upsert = self._insert(s.kv).values(namespace=namespace, key=key, value=bytes(value))
        upsert = upsert.on_conflict_do_update(
            index_elements=[s.kv.c.namespace, s.kv.c.key], set_={"value": upsert.excluded.value}
        )
        with self._tx(f"store {namespace}/{key}", write=True) as conn:
            conn.execute(upsert)

    def get(self, namespace: str, key: str) -> bytes | None:
        k = s.kv.c
        query = sa.select(k.value).where(k.namespace == namespace, k.key == key)
        with self._tx(f"read {namespace}/{key}", write=False) as conn:
            value = conn.execute(query).scalar()
        return None if value is None else bytes(value)

    def items(self, namespace: str) -> list[tuple[str, bytes]]:
        k = s.kv.c
        query = sa.select(k.key, k.value).where(k.namespace == namespace).order_by(k.key)
        with self._tx(f"list {namespace}", write=False) as conn:
            rows = conn.execute(query).all()
        return [(str(key), bytes(value)) for key, value in rows]

    def delete(self, namespace: str, key: str) -> None:
        k = s.kv.c
        with self._tx(f"delete {namespace}/{key}", write=True) as conn:
            conn.execute(s.kv.delete().where(k.namespace == namespace, k.key == key))

    # -- lifecycle -----------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._tx("read the schema version", write=False) as conn:
            version = conn.execute(sa.select(sa.func.max(s.schema_table.c.version))).scalar()
        return int(version or 0)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlStore({self._shown!r})"


def _configure_sqlite(dbapi_connection: Any, _record: Any, synchronous: str) -> None:
    # Autocommit at the driver level: ``_tx`` issues BEGIN / BEGIN IMMEDIATE itself, and PRAGMAs
    # that refuse to run inside a transaction (journal_mode) run here.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        _switch_to_wal(cursor)
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # NORMAL or FULL, checked at parse
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the file.

    Switching the journal needs the file to itself, and SQLite answers "database is locked" at
    once (without its busy handler) when another connection is creating or switching the same
    file: several processes opening a fresh database together hit it (about one start in twelve
    with four threads). So this waits, in short growing steps, up to ``BUSY_TIMEOUT_MS`` like
    every other lock wait; after that the error goes up as it is.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


def open_store(url: str) -> SqlStore:
    """Open (and migrate) the store at ``url``: ``sqlite:///path`` or ``postgresql://...``."""
    return SqlStore(url)
