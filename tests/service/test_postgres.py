"""The service on a real PostgreSQL: migrations, the write path, consolidation by a worker thread
(jobs claimed with SKIP LOCKED), search, supersession and erasure."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from memsvc.config import (
    ConsolidationSettings,
    DatabaseSettings,
    EmbedSettings,
    IndexSettings,
    Settings,
)
from memsvc.service.facade import MemoryService
from memsvc.store import migrate
from memsvc.types import FactStatus, Scope
from memsvc.wiring import build_service

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_service(postgres_url: str, tmp_path: Path) -> Iterator[MemoryService]:
    """A service on a fresh database created for this test, dropped afterwards."""
    name = f"memsvc_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(
        db=DatabaseSettings(url=url),
        index=IndexSettings(dir=tmp_path / "index"),
        embed=EmbedSettings(backend="hashing"),
        consolidation=ConsolidationSettings(poll_interval_s=0.05),
    )
    migrate.upgrade(settings.db)
    svc = build_service(settings, migrate_db=False)
    try:
        yield svc
    finally:
        svc.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_add_consolidate_search_and_erase(pg_service: MemoryService) -> None:
    svc = pg_service
    t0 = datetime(2023, 1, 1, tzinfo=UTC)
    alice = Scope(user_id="alice")
    svc.add(
        {"role": "user", "name": "Alice", "content": "I live in Berlin."},
        scope=Scope(user_id="alice", session_id="a"),
        occurred_at=t0,
    )
    svc.add(
        {"role": "user", "name": "Alice", "content": "I moved to Paris."},
        scope=Scope(user_id="alice", session_id="b"),
        occurred_at=t0 + timedelta(days=60),
    )
    assert svc.search("Berlin", scope=alice, kinds=["event"]).hits

    def consolidated() -> bool:
        stats = svc.stats()
        return (
            stats["jobs"]["pending"] == 0
            and stats["jobs"]["running"] == 0
            and stats["memories"].get("fact_active", 0) > 0
        )

    assert svc.wait_for(consolidated, timeout=60)
    facts = svc.get_all(scope=alice, kinds=["fact"], include_inactive=True).items
    statuses = {f.content: f.status for f in facts}
    assert any("Paris" in text and s == FactStatus.ACTIVE for text, s in statuses.items())
    assert any("Berlin" in text and s == FactStatus.SUPERSEDED for text, s in statuses.items())
    assert svc.indexes.verify(svc.namespace_id()).is_ok
    assert svc.delete_all(scope=alice) > 0
    assert svc.search("Paris", scope=alice).hits == []
    assert svc.indexes.verify(svc.namespace_id()).is_ok
