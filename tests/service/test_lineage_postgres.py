"""Lineage and purge on a real PostgreSQL: rows (history included) and index state gone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from service.test_lineage import ALICE, _hits, _indexed, _load, _texts_with
from service.test_postgres import pg_service  # noqa: F401 - the fixture

from memsvc.service.facade import MemoryService
from memsvc.store import tables as t
from memsvc.types import Scope

pytestmark = pytest.mark.postgres


def _rows_with(svc: MemoryService, token: str) -> dict[str, int]:
    """Rows of every memsvc table whose text (any string or JSON column) contains ``token``."""
    out: dict[str, int] = {}
    with svc.read() as s:
        for table in t.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
            if not cols:
                continue
            clause = sa.or_(*(sa.cast(c, sa.Text).contains(token) for c in cols))
            n = s.scalar(sa.select(sa.func.count()).select_from(table).where(clause))
            if n:
                out[table.name] = int(n)
    return out


def _settle(svc: MemoryService) -> None:
    """Run jobs here and wait for the service's own worker thread to finish its job too."""

    def idle() -> bool:
        svc.run_pending_jobs()
        with svc.read() as s:
            busy = s.scalar(
                sa.select(sa.func.count())
                .select_from(t.Job)
                .where(t.Job.status.in_(["pending", "running"]))
            )
            stale = s.scalar(sa.select(sa.func.count()).select_from(t.StaleMemory))
        return not busy and not stale

    assert svc.wait_for(idle, timeout=120)


def test_postgres_session_erase_then_user_purge(pg_service: MemoryService) -> None:  # noqa: F811
    svc = pg_service
    _load(svc)
    _settle(svc)
    assert _rows_with(svc, "quazzle4921")
    report = svc.erase(scope=Scope(user_id="alice", session_id="s1"))
    assert report["deleted_event"] == 4 and report["deleted_fact"] >= 1
    _settle(svc)
    assert _texts_with(svc, "quazzle4921") == []
    assert _rows_with(svc, "quazzle4921") == {}
    assert any("Lisbon" in h for h in _hits(svc, "Lisbon bakery"))
    purged = svc.erase(scope=ALICE, purge=True, verify=True)
    assert purged["verify"]["clean"], purged["verify"]["found"]
    for token in ("Pastelwick", "Lisbon", "Tejo"):
        assert _rows_with(svc, token) == {}, token
    assert not any(ref.startswith(("event", "fact")) for ref in _indexed(svc, svc.namespace_id()))
    assert svc.indexes.verify(svc.namespace_id()).is_ok
