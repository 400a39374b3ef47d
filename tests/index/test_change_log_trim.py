"""The change log is trimmed below every live reader; a reader behind the trim point rebuilds.

Two services on one SQLite file stand for two processes (each has its own index cache folder,
its own reader id).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from memsvc.config import IndexSettings, Settings
from memsvc.service.facade import MemoryService
from memsvc.store import tables as t
from memsvc.types import Scope, utcnow
from memsvc.wiring import build_service

ALICE = Scope(user_id="alice")


def _replica(settings: Settings, folder: Path) -> MemoryService:
    cfg = settings.model_copy(
        update={"index": IndexSettings(dir=folder, reader_report_s=0, sync_interval_s=0.1)}
    )
    return build_service(cfg, migrate_db=False)


def _log_rows(service: MemoryService) -> int:
    with service.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(t.ChangeLog)) or 0)


def test_trim_waits_for_every_live_reader_and_a_late_one_rebuilds(
    settings: Settings, tmp_path: Path
) -> None:
    a = _replica(settings, tmp_path / "a")
    b = _replica(settings, tmp_path / "b")
    try:
        for i in range(5):
            a.add(f"first batch note {i}", scope=ALICE)
        ns = a.namespace_id()
        b.search("note", scope=ALICE)  # b reads (and reports) up to here
        a.add("one more note", scope=ALICE)  # a reports again: b is still behind this one
        assert _log_rows(a) >= 1
        with a.read() as s:
            b_seq = s.scalar(
                sa.select(t.IndexReader.applied_seq).where(
                    t.IndexReader.reader_id == b.indexes.reader_id
                )
            )
            low = s.scalar(
                sa.select(sa.func.min(t.ChangeLog.seq)).where(t.ChangeLog.namespace_id == ns)
            )
        assert b_seq is not None and low is not None and low <= b_seq + 1  # nothing b needs is gone

        b.indexes.save_all()
        b.close()  # b stops; a keeps writing, and b's record goes stale
        with a.begin() as s:
            s.execute(
                sa.update(t.IndexReader)
                .where(t.IndexReader.reader_id == b.indexes.reader_id)
                .values(seen_at=utcnow() - timedelta(days=30))
            )
        for i in range(5):
            a.add(f"second batch note {i} while b was away", scope=ALICE)
        with a.read() as s:
            mark = s.scalar(
                sa.select(t.IndexReader.applied_seq).where(t.IndexReader.reader_id == "#trimmed")
            )
        assert mark is not None and mark > (b_seq or 0) + 1  # b's changes were trimmed away

        back = _replica(settings, tmp_path / "b")  # b comes back from its old snapshot
        try:
            hits = back.search("while b was away", scope=ALICE, top_k=20).hits
            assert sum("while b was away" in h.record.content for h in hits) == 5
            assert back.indexes.verify(ns).is_ok
        finally:
            back.close()
    finally:
        a.close()
