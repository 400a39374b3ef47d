"""Engines and sessions for the SQL store.

SQLite (the default) is opened in WAL mode with foreign keys on, and SQLAlchemy, not the
``sqlite3`` driver, emits ``BEGIN``: write sessions start with ``BEGIN IMMEDIATE`` so a
transaction takes the write lock up front. With the driver's deferred ``BEGIN``, two threads
that both read and then write deadlock on the lock upgrade, and one fails at once with
"database is locked" whatever the busy timeout; with ``BEGIN IMMEDIATE`` the second writer
waits (up to ``busy_timeout_ms``) instead. Read-only sessions use a deferred ``BEGIN`` so that
readers run concurrently with each other and with the writer (WAL).
See https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#sqlite-transactions.

PostgreSQL gets a sized pool with pre-ping; everything else is SQLAlchemy's default.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from memsvc.config import DatabaseSettings
from memsvc.errors import StoreUnavailable

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "advisory_xact_lock",
    "check_connection",
    "is_sqlite",
    "lock_key",
    "lock_namespace_writes",
    "make_engine",
    "make_sessionmaker",
    "wrap_db_errors",
]

logger = logging.getLogger(__name__)

SQLITE_BEGIN_OPTION = "memsvc_sqlite_begin"
"""Execution option naming the SQLite ``BEGIN`` mode: "IMMEDIATE" (default) or "DEFERRED"."""

SqliteBegin = Literal["IMMEDIATE", "DEFERRED", "EXCLUSIVE"]

_PG_CONNECT_TIMEOUT_S = 10
_PG_MAX_OVERFLOW = 10


def is_sqlite(bind: sa.Engine | sa.Connection) -> bool:
    """Whether ``bind`` talks to SQLite."""
    return bind.dialect.name == "sqlite"


def make_engine(cfg: DatabaseSettings) -> sa.Engine:
    """Build the engine for ``cfg.url``.

    For a SQLite file the parent directory is created. Every SQLite connection gets
    ``journal_mode=WAL``, ``synchronous=NORMAL``, ``foreign_keys=ON`` and the configured
    ``busy_timeout``; transactions begin with ``BEGIN IMMEDIATE`` unless the connection's
    :data:`SQLITE_BEGIN_OPTION` execution option says otherwise (see :func:`make_sessionmaker`).

    Args:
        cfg: the database section of the settings.

    Returns:
        A new engine; the caller owns it and should ``dispose()`` it.
    """
    url = sa.make_url(cfg.url)
    backend = url.get_backend_name()
    logger.info("database engine: %s", url.render_as_string(hide_password=True))
    if backend == "sqlite":
        _ensure_sqlite_dir(url)
        engine = sa.create_engine(url, echo=cfg.echo)
        _install_sqlite_hooks(engine, busy_timeout_ms=cfg.busy_timeout_ms)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if url.get_driver_name() in {"psycopg", "psycopg2"}:
            connect_args["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
        return sa.create_engine(
            url,
            echo=cfg.echo,
            pool_size=cfg.pool_size,
            max_overflow=_PG_MAX_OVERFLOW,
            pool_pre_ping=True,
            connect_args=connect_args,
        )
    return sa.create_engine(url, echo=cfg.echo, pool_pre_ping=True)


def make_sessionmaker(engine: sa.Engine, *, is_read_only: bool = False) -> sessionmaker[Session]:
    """A session factory with ``expire_on_commit=False``.

    Args:
        engine: from :func:`make_engine`.
        is_read_only: on SQLite, sessions begin with a deferred ``BEGIN`` so they never wait
            for the write lock; use it only for units of work that do not write (a write in
            such a session can fail with "database is locked" under concurrency). Ignored on
            other databases.

    Returns:
        A ``sessionmaker``; use ``with factory.begin() as session:`` for one unit of work.
    """
    bind = engine
    if is_read_only and is_sqlite(engine):
        bind = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
    return sessionmaker(bind=bind, expire_on_commit=False)


def check_connection(engine: sa.Engine) -> None:
    """Open a connection and run ``SELECT 1``.

    Raises:
        StoreUnavailable: the database cannot be reached (the message names the URL, with
            the password hidden, and the driver's reason).
    """
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        raise _unavailable(engine, exc) from exc


@contextmanager
def wrap_db_errors(engine: sa.Engine) -> Iterator[None]:
    """Turn connection-level database failures inside the block into :class:`StoreUnavailable`.

    Operational errors (server gone, database locked past the busy timeout, disk I/O), interface
    errors and pool timeouts are wrapped; integrity and programming errors are left alone since
    they are bugs or constraint violations the caller handles.
    """
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise _unavailable(engine, exc) from exc
    except sa.exc.TimeoutError as exc:
        raise StoreUnavailable(
            "timed out waiting for a database connection from the pool",
            detail={"url": _safe_url(engine)},
        ) from exc


def _unavailable(engine: sa.Engine, exc: sa.exc.DBAPIError) -> StoreUnavailable:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    url = _safe_url(engine)
    return StoreUnavailable(
        f"database unavailable at {url}: {reason}", detail={"url": url, "reason": reason}
    )


def _safe_url(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _ensure_sqlite_dir(url: sa.URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(engine: sa.Engine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:  # noqa: ARG001
        # Take transaction control away from the driver; _on_begin emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Deleted rows are overwritten with zeros, not left in free pages (erasure, issue 12).
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode: SqliteBegin = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be IMMEDIATE, DEFERRED or EXCLUSIVE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def lock_key(*parts: object) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock named by ``parts``.

    Stable across processes (unlike ``hash()``), so every replica and worker agrees on it.
    """
    name = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


def advisory_xact_lock(session: Session, key: int, *, is_blocking: bool = True) -> bool:
    """Take a PostgreSQL transaction-level advisory lock; a no-op that returns True elsewhere.

    On SQLite a write transaction (``BEGIN IMMEDIATE``) already excludes every other writer.
    The lock is released when the session's transaction ends.

    Args:
        session: the unit of work that holds the lock.
        key: from :func:`lock_key`.
        is_blocking: wait for the lock; otherwise give up at once when another holds it.

    Returns:
        Whether the lock is held.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    if is_blocking:
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        return True
    got = session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key})
    return bool(got.scalar_one())


def lock_namespace_writes(session: Session, namespace_id: int) -> None:
    """Serialise, until the transaction ends, writers of a namespace's change log and job queue.

    PostgreSQL only (SQLite write transactions are serial already). Both
    :func:`memsvc.store.change_log.append` and :func:`memsvc.store.jobs.enqueue` take it, so
    the change log's sequence order is its commit order within a namespace, and two adds never
    create two pending jobs for one scope. It is one lock, not two, so those calls can come in
    any order without deadlocking.
    """
    advisory_xact_lock(session, lock_key("memsvc.namespace.writes", namespace_id))
