"""Consolidation plans outside write transactions, applies in short ones, stores its vectors.

Real SQLite, FAISS and BM25; the offline LLM tasks, observed (never replaced) to see where they
run.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from memsvc.config import Settings
from memsvc.embed.cache import text_hash
from memsvc.index.documents import index_text
from memsvc.service.facade import MemoryService
from memsvc.store import jobs
from memsvc.store import tables as t
from memsvc.store.memories import get_rows
from memsvc.types import MemoryKind, Scope, utcnow
from memsvc.wiring import build_service

T0 = datetime(2023, 3, 1, 10, 0, tzinfo=UTC)
LINES = [
    "I live in Berlin.",
    "My violin teacher is called Marta.",
    "I work as a nurse at the city hospital.",
]


def _say(svc: MemoryService, text: str, when: datetime, session: str = "s1") -> None:
    svc.add(
        [{"role": "user", "name": "Alice", "content": text}],
        scope=Scope(user_id="alice", session_id=session),
        occurred_at=when,
    )


def _db_path(settings: Settings) -> str:
    return settings.db.url.removeprefix("sqlite:///")


def _writer_lock_is_free(path: str) -> bool:
    """Whether another connection could start a write transaction right now (SQLite)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _watch(service: MemoryService, name: str, path: str, seen: list[tuple[str, bool]]) -> None:
    original: Callable[..., Any] = getattr(service.llm, name)

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append((name, _writer_lock_is_free(path)))
        return original(*args, **kwargs)

    setattr(service.llm, name, watched)


def _indexed_rows(service: MemoryService) -> dict[MemoryKind, list[Any]]:
    ns = service.namespace_id()
    out: dict[MemoryKind, list[Any]] = {}
    with service.read() as s:
        for kind in MemoryKind:
            model = {
                MemoryKind.EVENT: t.Event,
                MemoryKind.EPISODE: t.Episode,
                MemoryKind.FACT: t.Fact,
                MemoryKind.SUMMARY: t.Summary,
                MemoryKind.TREE_NODE: t.TreeNode,
            }[kind]
            ids = list(s.scalars(sa.select(model.id).where(model.namespace_id == ns)))
            rows = get_rows(s, ns, kind, ids).values()
            out[kind] = [r for r in rows if index_text(r).strip()]
    return out


def test_every_model_call_of_a_job_runs_with_the_writer_lock_free(
    service: MemoryService, settings: Settings
) -> None:
    path = _db_path(settings)
    seen: list[tuple[str, bool]] = []
    for name in ("decide", "extract_facts", "summarize"):
        _watch(service, name, path, seen)
    _say(service, "I live in Berlin.", T0)
    service.run_pending_jobs()
    _say(service, "I moved to Paris.", T0 + timedelta(days=90), session="s2")
    service.run_pending_jobs()
    names = {name for name, _ in seen}
    assert {"decide", "extract_facts", "summarize"} <= names
    assert all(free for _, free in seen), [name for name, free in seen if not free]


def test_consolidation_stores_the_vector_of_every_memory_it_writes(
    service: MemoryService, settings: Settings
) -> None:
    for i, text in enumerate(LINES):
        _say(service, text, T0 + timedelta(minutes=i))
    service.run_pending_jobs()
    rows = _indexed_rows(service)
    assert rows[MemoryKind.FACT] and rows[MemoryKind.EPISODE] and rows[MemoryKind.SUMMARY]
    with service.read() as s:
        stored = set(
            s.scalars(
                sa.select(t.EmbeddingCache.text_hash).where(
                    t.EmbeddingCache.model == service.embedder.model_id
                )
            )
        )
    for kind, kind_rows in rows.items():
        missing = [r.id for r in kind_rows if text_hash(index_text(r)) not in stored]
        assert not missing, f"{kind.value} rows without a stored vector: {missing}"


def test_a_rebuild_in_a_fresh_process_never_calls_the_model(
    service: MemoryService, settings: Settings
) -> None:
    for i, text in enumerate(LINES):
        _say(service, text, T0 + timedelta(minutes=i))
    service.run_pending_jobs()
    service.close()
    shutil.rmtree(settings.index.dir)
    fresh = build_service(settings, migrate_db=False)
    try:
        calls: list[int] = []
        inner = fresh.embedder.inner
        original = inner.embed

        def counted(texts: Any) -> Any:
            calls.append(len(texts))
            return original(texts)

        inner.embed = counted  # type: ignore[method-assign]
        ns = fresh.namespace_id()
        total = fresh.indexes.rebuild(ns)
        assert total > len(LINES)
        assert calls == []
        assert fresh.indexes.verify(ns).is_ok
    finally:
        fresh.close()


def test_applying_a_job_twice_changes_nothing(service: MemoryService) -> None:
    for i, text in enumerate(LINES):
        _say(service, text, T0 + timedelta(minutes=i))
    ns = service.namespace_id()
    with service.read() as s:
        job_id = int(s.scalar(sa.select(t.Job.id).where(t.Job.namespace_id == ns)) or 0)
    service.run_pending_jobs()

    def counts() -> dict[str, int]:
        with service.read() as s:
            return {
                m.__tablename__: int(s.scalar(sa.select(sa.func.count()).select_from(m)) or 0)
                for m in (t.Episode, t.Fact, t.Summary, t.TreeNode, t.History)
            }

    before = counts()
    with service.read() as s:
        job = jobs.get(s, ns, job_id)
    service._pipeline.run(job)
    assert counts() == before


def test_a_fact_has_at_most_one_tree_leaf(service: MemoryService) -> None:
    _say(service, "I live in Berlin.", T0)
    service.run_pending_jobs()
    with service.read() as s:
        leaf = s.scalars(sa.select(t.TreeNode).where(t.TreeNode.fact_id.is_not(None))).first()
        assert leaf is not None
        twin = {
            c.name: getattr(leaf, c.name) for c in t.TreeNode.__table__.columns if c.name != "id"
        }
    with pytest.raises(IntegrityError), service._begin_raw() as s:
        s.add(t.TreeNode(**{**twin, "created_at": utcnow()}))
        s.flush()
