"""Migrations: upgrade on an empty database, models match (``alembic check``), down and up again."""

from __future__ import annotations

import ast
import configparser
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from memsvc.config import DatabaseSettings
from memsvc.errors import StoreUnavailable
from memsvc.store import migrate
from memsvc.store.db import make_engine
from memsvc.store.tables import metadata

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_cfg(request: pytest.FixtureRequest) -> DatabaseSettings:
    """An empty database: a new SQLite file, then a new PostgreSQL schema."""
    name = "sqlite_cfg" if request.param == "sqlite" else "pg_cfg"
    cfg: DatabaseSettings = request.getfixturevalue(name)
    return cfg


def _tables(cfg: DatabaseSettings) -> set[str]:
    engine = make_engine(cfg)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_current_is_none_before_any_migration(empty_cfg: DatabaseSettings) -> None:
    assert migrate.current(empty_cfg) is None


def test_migrate_upgrade_head_on_empty_database_matches_models(
    empty_cfg: DatabaseSettings,
) -> None:
    migrate.upgrade(empty_cfg)

    assert migrate.current(empty_cfg) == migrate.head()
    assert _tables(empty_cfg) == set(metadata.tables) | {"alembic_version"}
    assert migrate.check(empty_cfg) == []


def test_migrate_downgrade_base_then_upgrade_again(empty_cfg: DatabaseSettings) -> None:
    migrate.upgrade(empty_cfg)

    migrate.downgrade(empty_cfg, "base")
    assert migrate.current(empty_cfg) is None
    assert _tables(empty_cfg) == {"alembic_version"}

    migrate.upgrade(empty_cfg)
    assert migrate.current(empty_cfg) == migrate.head()
    assert migrate.check(empty_cfg) == []


def test_migrate_check_reports_a_missing_index(empty_cfg: DatabaseSettings) -> None:
    migrate.upgrade(empty_cfg)
    engine = make_engine(empty_cfg)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_job_claim")
    finally:
        engine.dispose()

    diffs = migrate.check(empty_cfg)

    assert [(d[0], d[1].name) for d in diffs] == [("add_index", "ix_job_claim")]


@pytest.mark.postgres
def test_migrate_check_reports_column_type_drift_on_postgres(pg_cfg: DatabaseSettings) -> None:
    migrate.upgrade(pg_cfg)
    engine = make_engine(pg_cfg)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE job ALTER COLUMN run_after TYPE timestamp")
            conn.exec_driver_sql("ALTER TABLE event ALTER COLUMN metadata TYPE json")
    finally:
        engine.dispose()

    changed = sorted((d[0][2], d[0][3]) for d in migrate.check(pg_cfg))

    assert changed == [("event", "metadata"), ("job", "run_after")]


BROKEN_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "broken"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    raise RuntimeError("broken migration")


def downgrade() -> None:
    op.drop_table("half_done")
"""


def test_migrate_failed_upgrade_leaves_database_untouched(
    empty_cfg: DatabaseSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts)
    broken = BROKEN_REVISION.format(head=migrate.head())
    (scripts / "versions" / "2026_11_29_broken.py").write_text(broken)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)

    with pytest.raises(RuntimeError, match="broken migration"):
        migrate.upgrade(empty_cfg)

    assert migrate.current(empty_cfg) is None
    assert _tables(empty_cfg) <= {"alembic_version"}


def test_migrate_upgrade_unreachable_database_raises_store_unavailable() -> None:
    cfg = DatabaseSettings(url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(StoreUnavailable):
        migrate.upgrade(cfg)


def test_migrate_fixture_databases_are_at_head(store_cfg: DatabaseSettings) -> None:
    # store_cfg is a copy of the session's template file (SQLite) or a truncated schema.
    assert migrate.current(store_cfg) == migrate.head()
    assert migrate.check(store_cfg) == []


def test_migrations_ship_inside_the_package() -> None:
    package_dir = Path(migrate.__file__).resolve().parent
    assert package_dir / "migrations" == migrate.MIGRATIONS_DIR
    assert (migrate.MIGRATIONS_DIR / "env.py").is_file()
    assert (migrate.MIGRATIONS_DIR / "script.py.mako").is_file()


def test_migration_files_are_static_and_dated() -> None:
    versions = sorted((migrate.MIGRATIONS_DIR / "versions").glob("[!_]*.py"))
    assert versions
    for path in versions:
        assert re.fullmatch(r"\d{4}_\d{2}_\d{2}_[a-z0-9_]+\.py", path.name), path.name
        imported = {
            alias.name if isinstance(node, ast.Import) else node.module or ""
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not any(name.startswith("memsvc") for name in imported), path.name


def test_alembic_ini_points_at_the_package_migrations() -> None:
    parser = configparser.ConfigParser()
    parser.read(REPO / "alembic.ini")
    location = parser.get("alembic", "script_location", vars={"here": str(REPO)})
    assert Path(location).resolve() == migrate.MIGRATIONS_DIR
