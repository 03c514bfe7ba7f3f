"""Fixtures for the server's store: ``store_url`` runs a test on SQLite and on PostgreSQL.

SQLite gets a file in the test's temporary directory (in a directory that does not exist yet, so
the store must create it). PostgreSQL comes from ``JOBBER_TEST_PG_URL`` (``make pg`` or
``scripts/postgres.sh`` prints one); each test gets its own freshly created schema, selected with
the URL's ``options=-csearch_path=...`` and dropped afterwards, so runs never see each other's
data. Without that variable the PostgreSQL cases are skipped, except in CI (``CI=true``) where a
missing database is a failure: CI must test the back-end that deployments use.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobber.server.store import open_store, redact
from jobber.server.store.api import Store

PG_ENV = "JOBBER_TEST_PG_URL"


def pg_base_url() -> str:
    """The PostgreSQL URL to test against, or skip (fail in CI) when there is none."""
    url = os.environ.get(PG_ENV, "").strip()
    if url:
        return url
    message = f"{PG_ENV} is unset: run `make pg` (as root) or scripts/postgres.sh and export it"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the PostgreSQL store tests: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    """An engine on the test database, used only to create and drop per-test schemas."""
    url = sa.make_url(pg_base_url())
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        pytest.fail(f"cannot reach the test PostgreSQL at {redact(str(url))}: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A URL on a fresh schema of the test database, dropped after the test."""
    schema = f"jb_test_{uuid.uuid4().hex[:16]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = pg_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """A URL of an empty store, on each back-end in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{os.path.join(tmp_path, 'state', 'jobber.db')}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on ``store_url``, closed after the test."""
    opened = open_store(store_url)
    yield opened
    opened.close()
