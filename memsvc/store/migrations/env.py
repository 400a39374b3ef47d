"""Alembic environment for memsvc.

The database comes from, in order: a connection handed over by :mod:`memsvc.store.migrate`
(``config.attributes["connection"]``), the settings it put in ``config.attributes["db_settings"]``,
the config's ``sqlalchemy.url``, and finally ``Settings().db`` (``MEMSVC_DB__URL``), which is
what the ``alembic`` CLI uses with the repository's ``alembic.ini``.

On SQLite, foreign keys are switched off while migrating: batch mode rebuilds a table by copying
it and dropping the original, and with foreign keys on that drop would cascade into child rows.
``PRAGMA foreign_key_check`` runs before commit instead. On PostgreSQL, an advisory lock makes
concurrent ``migrate`` runs (several containers starting at once) take turns.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from memsvc.config import DatabaseSettings, Settings
from memsvc.store.db import make_engine
from memsvc.store.migrate import context_options

logger = logging.getLogger("memsvc.store.migrations")

# An arbitrary constant: the key of the PostgreSQL advisory lock held while migrating.
_PG_MIGRATION_LOCK = 0x6D656D737663


def _settings() -> DatabaseSettings:
    given = context.config.attributes.get("db_settings")
    if isinstance(given, DatabaseSettings):
        return given
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return DatabaseSettings(url=url)
    return Settings().db


def _run_offline() -> None:
    context.configure(
        url=_settings().url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **context_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: sa.Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        # Must run outside a transaction (the pragma is a no-op inside one): use the driver
        # connection, which is in autocommit mode (see memsvc.store.db).
        connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
    try:
        # SQLite DDL is transactional once SQLAlchemy emits BEGIN (memsvc.store.db), so a
        # failed upgrade leaves the database as it was.
        context.configure(connection=connection, transactional_ddl=True, **context_options())
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            context.run_migrations()
            if is_sqlite:
                _check_foreign_keys(connection)
    finally:
        if is_sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def _check_foreign_keys(connection: sa.Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(f"migration left rows with broken foreign keys in {tables}")


def _run_online() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _run_on(given)
        return
    engine = make_engine(_settings())
    try:
        with engine.connect() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if context.config.config_file_name is not None and context.config.attributes.get(
    "configure_logger", True
):
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
