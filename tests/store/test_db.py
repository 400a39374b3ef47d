"""Engines and sessions: SQLite pragmas, write locking, error wrapping."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from memsvc.config import DatabaseSettings
from memsvc.errors import StoreUnavailable
from memsvc.store.db import (
    check_connection,
    lock_key,
    make_engine,
    make_sessionmaker,
    wrap_db_errors,
)


def test_make_engine_sqlite_creates_parent_directory(sqlite_cfg: DatabaseSettings) -> None:
    engine = make_engine(sqlite_cfg)
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    assert Path(sa.make_url(sqlite_cfg.url).database or "").exists()


def test_make_engine_sqlite_sets_pragmas_on_every_connection(tmp_path: Path) -> None:
    cfg = DatabaseSettings(url=f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    engine = make_engine(cfg)
    try:
        for _ in range(2):
            with engine.connect() as conn:
                pragma = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
                }
            engine.dispose()  # the second round gets a brand-new connection
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 1234,
    }


def test_make_sessionmaker_write_session_takes_lock_at_begin(tmp_path: Path) -> None:
    cfg = DatabaseSettings(url=f"sqlite:///{tmp_path / 'l.db'}", busy_timeout_ms=50)
    engine = make_engine(cfg)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    writes = make_sessionmaker(engine)
    try:
        with writes.begin() as first:
            first.execute(sa.text("SELECT count(*) FROM t"))  # a read, but the lock is taken
            with (
                pytest.raises(StoreUnavailable, match="locked"),
                wrap_db_errors(engine),
                writes.begin() as second,
            ):
                second.execute(sa.text("SELECT count(*) FROM t"))
    finally:
        engine.dispose()


def test_make_sessionmaker_read_only_session_reads_while_writer_holds_lock(
    tmp_path: Path,
) -> None:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'r.db'}", busy_timeout_ms=50))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    try:
        with make_sessionmaker(engine).begin() as writer:
            writer.execute(sa.text("INSERT INTO t VALUES (2)"))
            with make_sessionmaker(engine, is_read_only=True).begin() as reader:
                seen = reader.execute(sa.text("SELECT count(*) FROM t")).scalar_one()
    finally:
        engine.dispose()
    assert seen == 1  # WAL: the reader sees the last committed state, without waiting


def test_make_sessionmaker_concurrent_read_modify_write_threads_never_deadlock(
    tmp_path: Path,
) -> None:
    # With the driver's deferred BEGIN, two threads that read and then write fail at once with
    # "database is locked" (SQLITE_BUSY on lock upgrade); BEGIN IMMEDIATE makes them queue.
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'c.db'}"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    sessions = make_sessionmaker(engine)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def bump() -> None:
        start.wait()
        try:
            for _ in range(25):
                with sessions.begin() as session:
                    n = session.execute(sa.text("SELECT n FROM counter")).scalar_one()
                    session.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT n FROM counter").scalar_one()
    engine.dispose()
    assert errors == []
    assert total == 100


def test_check_connection_unreachable_server_raises_store_unavailable() -> None:
    engine = make_engine(
        DatabaseSettings(url="postgresql+psycopg://memsvc:s3cret@127.0.0.1:1/nowhere")
    )
    try:
        with pytest.raises(StoreUnavailable) as caught:
            check_connection(engine)
    finally:
        engine.dispose()
    assert "127.0.0.1:1" in caught.value.message
    assert "s3cret" not in caught.value.message


def test_wrap_db_errors_leaves_integrity_errors_alone(tmp_path: Path) -> None:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'i.db'}"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE u (x INTEGER UNIQUE)")
        conn.exec_driver_sql("INSERT INTO u VALUES (1)")
    try:
        with pytest.raises(sa.exc.IntegrityError), wrap_db_errors(engine), engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO u VALUES (1)")
    finally:
        engine.dispose()


def test_lock_key_is_stable_signed_64_bit() -> None:
    key = lock_key("memsvc.namespace.writes", 1)
    assert key == lock_key("memsvc.namespace.writes", 1)
    assert key != lock_key("memsvc.namespace.writes", 2)
    assert -(2**63) <= key < 2**63
