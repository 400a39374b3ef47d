"""Store fixtures: real SQLite files and, when MEMSVC_TEST_POSTGRES_URL is set, real PostgreSQL.

Each PostgreSQL fixture works in a schema of its own (``search_path`` set through the URL), so
reruns, parallel runs and other suites sharing the database never see each other's tables.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from memsvc.config import DatabaseSettings
from memsvc.store import migrate
from memsvc.store.db import make_engine, make_sessionmaker
from memsvc.store.tables import Namespace, metadata

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def migrated_sqlite_copy(tmp_path: Path, template: Path) -> DatabaseSettings:
    """Settings on a private copy of ``template`` (a SQLite file migrated to head) in ``tmp_path``.

    Copying a migrated file is much faster than migrating each test's database (STYLE §9); the
    ``template_db`` fixture of tests/conftest.py makes the template once per session.
    """
    db = tmp_path / "memsvc.db"
    shutil.copyfile(template, db)
    return DatabaseSettings(url=f"sqlite:///{db}", busy_timeout_ms=5_000)


@pytest.fixture
def sqlite_cfg(tmp_path: Path) -> DatabaseSettings:
    """An empty SQLite database file (not migrated)."""
    return DatabaseSettings(url=f"sqlite:///{tmp_path / 'db' / 'memsvc.db'}")


def _pg_schema_cfg(postgres_url: str, schema: str) -> DatabaseSettings:
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return DatabaseSettings(url=url.render_as_string(hide_password=False), pool_size=4)


def _pg_admin(postgres_url: str, sql: str) -> None:
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture
def pg_cfg(postgres_url: str) -> Iterator[DatabaseSettings]:
    """An empty PostgreSQL schema of this test's own (dropped afterwards)."""
    schema = f"memsvc_store_{uuid.uuid4().hex[:12]}"
    _pg_admin(postgres_url, f"CREATE SCHEMA {schema}")
    try:
        yield _pg_schema_cfg(postgres_url, schema)
    finally:
        _pg_admin(postgres_url, f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def pg_migrated_schema(postgres_url: str) -> Iterator[DatabaseSettings]:
    """A PostgreSQL schema migrated to head once per session."""
    schema = f"memsvc_store_{uuid.uuid4().hex[:12]}"
    _pg_admin(postgres_url, f"CREATE SCHEMA {schema}")
    try:
        cfg = _pg_schema_cfg(postgres_url, schema)
        migrate.upgrade(cfg)
        yield cfg
    finally:
        _pg_admin(postgres_url, f"DROP SCHEMA {schema} CASCADE")


def _pg_emptied(cfg: DatabaseSettings) -> DatabaseSettings:
    # DELETE, children first: much faster than TRUNCATE on tables this small.
    engine = sa.create_engine(cfg.url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()
    return cfg


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_cfg(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseSettings:
    """A migrated, empty database: a SQLite copy of the template, then PostgreSQL."""
    if request.param == "sqlite":
        return migrated_sqlite_copy(tmp_path, request.getfixturevalue("template_db"))
    return _pg_emptied(request.getfixturevalue("pg_migrated_schema"))


@pytest.fixture
def engine(store_cfg: DatabaseSettings) -> Iterator[sa.Engine]:
    """The engine of ``store_cfg``."""
    eng = make_engine(store_cfg)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: sa.Engine) -> sessionmaker[Session]:
    """Write sessions on ``engine``."""
    return make_sessionmaker(engine)


@pytest.fixture
def make_namespace(sessions: sessionmaker[Session]) -> Callable[[str], int]:
    """Create a namespace row by name and return its id."""

    def make(name: str) -> int:
        with sessions.begin() as session:
            row = Namespace(name=name, created_at=T0)
            session.add(row)
            session.flush()
            return row.id

    return make


@pytest.fixture
def namespace_id(make_namespace: Callable[[str], int]) -> int:
    """The id of a fresh namespace."""
    return make_namespace("ns-a")
