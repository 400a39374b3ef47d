"""Run the alembic migrations programmatically (what ``memsvc db upgrade|current|check`` calls).

The scripts live in ``memsvc/store/migrations/`` inside the package, so an installed wheel can
migrate a database without the source tree. The repository's ``alembic.ini`` points at the
same directory for developers who use the ``alembic`` CLI (``alembic revision --autogenerate``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from memsvc.config import DatabaseSettings
from memsvc.store.db import make_engine, wrap_db_errors
from memsvc.store.tables import metadata

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check",
    "context_options",
    "current",
    "downgrade",
    "head",
    "upgrade",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The alembic script directory shipped in the package."""

FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s"


def alembic_config(cfg: DatabaseSettings) -> Config:
    """An alembic ``Config`` for ``cfg`` that needs no ``alembic.ini``.

    ``env.py`` takes the settings from ``config.attributes["db_settings"]``, so the engine is
    built by :func:`memsvc.store.db.make_engine` with the same pragmas as the service.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", FILE_TEMPLATE)
    # ConfigParser interpolates '%', which URL-encoded passwords and options contain.
    config.set_main_option("sqlalchemy.url", cfg.url.replace("%", "%%"))
    config.attributes["db_settings"] = cfg
    return config


def upgrade(cfg: DatabaseSettings, revision: str = "head") -> None:
    """Migrate the database named by ``cfg`` up to ``revision``.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    _run(cfg, lambda config: command.upgrade(config, revision))
    logger.info("database upgraded to %s", revision)


def downgrade(cfg: DatabaseSettings, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` drops every table).

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    _run(cfg, lambda config: command.downgrade(config, revision))
    logger.info("database downgraded to %s", revision)


def current(cfg: DatabaseSettings) -> str | None:
    """The revision the database is at, or ``None`` when it has never been migrated.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    engine = make_engine(cfg)
    try:
        with wrap_db_errors(engine), engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision among the shipped scripts."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    revision = script.get_current_head()
    if revision is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no alembic revisions in {MIGRATIONS_DIR}")
    return revision


def check(cfg: DatabaseSettings) -> list[Any]:
    """Compare the models in :mod:`memsvc.store.tables` with the database, like ``alembic check``.

    Returns:
        Alembic's diff list (``("add_table", Table)``, ``[("modify_type", ...)]``, ...); empty
        when the database matches the models.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    engine = make_engine(cfg)
    try:
        with wrap_db_errors(engine), engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=context_options())
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def context_options() -> dict[str, Any]:
    """The options ``env.py`` and :func:`check` give to ``context.configure``."""
    return {
        "target_metadata": metadata,
        # alembic compares a TypeDecorator (UTCDateTime) by its impl and a with_variant type
        # by the current dialect's variant, so the plain flag is enough (a test proves it).
        "compare_type": True,
        "render_as_batch": True,
    }


def _run(cfg: DatabaseSettings, step: Callable[[Config], None]) -> None:
    """Run an alembic command on one connection of our own engine (``env.py`` reuses it)."""
    engine = make_engine(cfg)
    try:
        with wrap_db_errors(engine), engine.connect() as conn:
            config = alembic_config(cfg)
            config.attributes["connection"] = conn
            step(config)
    finally:
        engine.dispose()
