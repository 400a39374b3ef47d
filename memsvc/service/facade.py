"""MemoryService: the façade every entry point uses (embedded Memory, REST API, CLI, MCP).

Each public method is one unit of work: one transaction, committed before the indexes are told
(through the change log, see :mod:`memsvc.index.sync`). The add path never waits for an LLM:
events are committed, embedded and indexed, and a consolidation job is queued for the worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from memsvc.config import Settings
from memsvc.consolidate.pipeline import ConsolidationPipeline, owner_of
from memsvc.consolidate.recompute import RemovalReport, mark_changed, remove_sources
from memsvc.consolidate.worker import Worker
from memsvc.embed.cache import CachedEmbedder
from memsvc.errors import InvalidQuery, NothingToUpdate, StoreUnavailable
from memsvc.index.documents import index_text
from memsvc.index.persist import persist_vectors
from memsvc.index.sync import IndexSync
from memsvc.llm.base import LLMTasks
from memsvc.search.searcher import Searcher, SearchRequest
from memsvc.service import erasure
from memsvc.service.operations import OperationsMixin
from memsvc.service.reinforce import Reinforcer
from memsvc.store import change_log, jobs
from memsvc.store import history as hist
from memsvc.store import memories as repo
from memsvc.store import tables as t
from memsvc.store.namespaces import ensure_namespace
from memsvc.store.records import to_record
from memsvc.types import (
    AddResult,
    HistoryEntry,
    MemoryKind,
    MemoryRecord,
    MemoryRef,
    Page,
    Scope,
    SearchResult,
    utcnow,
)
from memsvc.validation import check_content, check_metadata, check_time, coerce_messages

__all__ = ["MemoryService"]

logger = logging.getLogger(__name__)


@dataclass
class _Namespaces:
    ids: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class MemoryService(OperationsMixin):
    """Stores, consolidates and retrieves memories. Thread-safe; build it with ``build_service``."""

    def __init__(
        self,
        *,
        settings: Settings,
        begin: Callable[[], AbstractContextManager[Session]],
        embedder: CachedEmbedder,
        indexes: IndexSync,
        llm: LLMTasks,
        read: Callable[[], AbstractContextManager[Session]] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self._read_raw = read or begin
        self._engine = engine
        self._worker: Worker | None = None
        self._begin_raw = begin
        self.embedder = embedder
        self.indexes = indexes
        self.llm = llm
        self._namespaces = _Namespaces()
        self._reinforcer = Reinforcer(self.begin, enabled=settings.retrieval.reinforce)
        self._searcher = Searcher(
            settings=settings,
            begin=self.read,
            embedder=embedder,
            indexes=indexes,
            llm=llm,
            on_recall=self._reinforcer.submit,
        )
        self._pipeline = ConsolidationPipeline(
            settings=settings,
            begin=self.begin,
            read=self.read,
            embedder=embedder,
            indexes=indexes,
            llm=llm,
        )
        self._on_enqueue: list[Callable[[], None]] = []
        self._closed = False

    # -- plumbing -------------------------------------------------------------------------

    def begin(self) -> AbstractContextManager[Session]:
        """One transaction; database failures surface as :class:`StoreUnavailable`."""
        return _store_errors(self._begin_raw)

    def read(self) -> AbstractContextManager[Session]:
        """A transaction that only reads (on SQLite it never waits for the writer)."""
        return _store_errors(self._read_raw)

    def namespace_id(self, namespace: str | None = None) -> int:
        """The id of a namespace (the configured default when ``None``), created when missing."""
        name = namespace or self.settings.namespace
        with self._namespaces.lock:
            found = self._namespaces.ids.get(name)
        if found is not None:
            return found
        with self.begin() as session:
            ns_id = ensure_namespace(session, name, now=utcnow())
        with self._namespaces.lock:
            self._namespaces.ids[name] = ns_id
        return ns_id

    def on_enqueue(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each commit that queued consolidation work (wakes the worker)."""
        self._on_enqueue.append(callback)

    # -- write path -----------------------------------------------------------------------

    def add(
        self,
        messages: Any,
        *,
        scope: Scope,
        metadata: Any = None,
        occurred_at: datetime | str | None = None,
        namespace: str | None = None,
    ) -> AddResult:
        """Store messages as events; they are searchable when this returns.

        Args:
            messages: a string, a ``{"role", "content", "name"?}`` mapping, or a list of them.
            scope: who the memories belong to (at least one key).
            metadata: a JSON object stored on every event (``metadata["ref"]`` is echoed back in
                search provenance as the client's own id).
            occurred_at: when the messages happened (default now): import history with its
                real times. Events of one call share it and keep their order.
        Raises:
            InvalidInput: any invalid part; nothing is stored then.
        """
        limits = self.settings.limits
        msgs = coerce_messages(messages, limits)
        meta = check_metadata(metadata, limits)
        when = check_time(occurred_at, field="occurred_at")
        ns_id = self.namespace_id(namespace)
        now = utcnow()
        when = when or now
        rows = [
            {
                "namespace_id": ns_id,
                **scope.as_dict(),
                "role": m.role,
                "speaker": m.name,
                "content": m.content,
                "meta": meta,
                "occurred_at": when,
                "ingested_at": now,
                "updated_at": now,
            }
            for m in msgs
        ]
        texts = [index_text(t.Event(**r)) for r in rows]
        self.embedder.embed(texts)  # the model runs before the write transaction opens
        with self.begin() as session:
            ids = repo.insert_events(session, rows)
            persist_vectors(session, self.embedder, texts)
            change_log.append(
                session,
                namespace_id=ns_id,
                kind=MemoryKind.EVENT,
                memory_ids=ids,
                op="upsert",
                now=now,
            )
            job_id = None
            if self.settings.consolidation.enabled:
                job_id = jobs.enqueue(session, namespace_id=ns_id, scope=scope, now=now)
            events = [to_record(t.Event(id=i, **row)) for i, row in zip(ids, rows, strict=True)]
        self.indexes.catch_up(ns_id)
        if job_id is not None:
            for callback in self._on_enqueue:
                callback()
        events.sort(key=lambda r: r.ref.id)
        logger.debug("added %d events to namespace %d", len(events), ns_id)
        return AddResult(events=events, job_id=job_id)

    def update(
        self,
        memory_id: str,
        *,
        content: str | None = None,
        metadata: Any = None,
        namespace: str | None = None,
        actor: str = "user",
    ) -> MemoryRecord:
        """Change a memory's text and/or metadata; the change goes to history and the indexes."""
        if content is None and metadata is None:
            raise NothingToUpdate("nothing to update: give content or metadata")
        ref = MemoryRef.parse(memory_id)
        text = check_content(content, self.settings.limits) if content is not None else None
        meta = check_metadata(metadata, self.settings.limits) if metadata is not None else None
        ns_id = self.namespace_id(namespace)
        now = utcnow()
        if text is not None:
            self.embedder.embed([text])
        queued = False
        with self.begin() as session:
            row = repo.get_row(session, ns_id, ref)
            before = hist.snapshot(row)
            if text is not None:
                _set_content(row, text)
            if meta is not None:
                if not hasattr(row, "meta"):
                    raise InvalidQuery(f"{ref.kind.value} memories have no metadata")
                row.meta = meta
            row.updated_at = now
            session.flush()
            persist_vectors(session, self.embedder, [index_text(row)])
            hist.record_change(
                session,
                namespace_id=ns_id,
                ref=ref,
                operation="update",
                before=before,
                after=hist.snapshot(row),
                reason="updated by client",
                actor=actor,
                now=now,
            )
            change_log.append(
                session,
                namespace_id=ns_id,
                kind=ref.kind,
                memory_ids=[ref.id],
                op="upsert",
                now=now,
            )
            record = to_record(row)
            if text is not None:
                queued = self._queue_recompute(
                    session, ns_id, mark_changed(session, ns_id, row, now=now), now
                )
        self.indexes.catch_up(ns_id)
        if text is not None and queued:
            self._wake()
        return record

    def delete(
        self,
        memory_id: str,
        *,
        erase_history: bool = False,
        namespace: str | None = None,
        actor: str = "user",
    ) -> dict[str, int]:
        """Delete one memory from SQL and every index; with ``erase_history`` its history too.

        Memories derived only from it go too; those with other sources are taken out of the
        indexes at once and recomputed in the background (memsvc.consolidate.recompute).
        Returns counts per store.
        """
        ref = MemoryRef.parse(memory_id)
        ns_id = self.namespace_id(namespace)
        now = utcnow()
        with self.begin() as session:
            repo.get_row(session, ns_id, ref)  # raises MemoryNotFound
            report = remove_sources(
                session, ns_id, [ref], now=now, erase_history=erase_history, actor=actor
            )
            queued = self._queue_recompute(session, ns_id, report, now)
        self.indexes.catch_up(ns_id)
        if queued:
            self._wake()
        return erasure.counts(report)

    def delete_all(
        self, *, scope: Scope, erase_history: bool = True, namespace: str | None = None
    ) -> int:
        """Erase every memory of a scope (see :meth:`erase`); returns the memories deleted."""
        report = self.erase(scope=scope, erase_history=erase_history, namespace=namespace)
        return int(report["memories"])

    def erase(
        self,
        *,
        scope: Scope,
        purge: bool = False,
        verify: bool = False,
        erase_history: bool = True,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """Erase everything whose lineage lies inside ``scope``; counts per store.

        Events of the scope and memories stored under it go, and so does every memory derived
        only from them (owner-level facts, summaries and tree nodes built from a session
        included), with their history. A memory derived also from outside the scope is
        recomputed from what remains. With ``purge`` (erasure on request) that recompute runs
        now, and no byte of the erased text stays anywhere memsvc writes: embedding-cache rows,
        index files (compacted, vocabulary pruned, rewritten), SQLite free pages and WAL; a
        content-free erasure record is kept. ``verify`` then scans every store for the erased
        text and reports what it found.
        """
        return erasure.erase(
            self,
            scope=scope,
            purge=purge,
            verify=verify,
            erase_history=erase_history or purge,
            namespace_id=self.namespace_id(namespace),
        )

    def _queue_recompute(
        self, session: Session, ns_id: int, report: RemovalReport, now: datetime
    ) -> bool:
        """Queue a consolidation job for each owner left with stale memories."""
        for owner in report.owners.values():
            jobs.enqueue(session, namespace_id=ns_id, scope=owner_of(owner), now=now)
        return bool(report.owners)

    def _wake(self) -> None:
        for callback in self._on_enqueue:
            callback()

    # -- read path ------------------------------------------------------------------------

    def get(self, memory_id: str, *, namespace: str | None = None) -> MemoryRecord:
        """One memory by id.

        Raises:
            MemoryNotFound: unknown id, or one of another namespace.
        """
        ref = MemoryRef.parse(memory_id)
        ns_id = self.namespace_id(namespace)
        with self.read() as session:
            return _with_episode_events(
                session, ns_id, [to_record(repo.get_row(session, ns_id, ref))]
            )[0]

    def get_all(
        self,
        *,
        scope: Scope,
        kinds: Sequence[MemoryKind] | None = None,
        include_inactive: bool = False,
        metadata: Any = None,
        cursor: str | None = None,
        limit: int = 100,
        namespace: str | None = None,
    ) -> Page:
        """A page of a scope's memories: facts, events, episodes, summaries, tree nodes."""
        if not 1 <= limit <= 1000:
            raise InvalidQuery("limit must be between 1 and 1000")
        meta = check_metadata(metadata, self.settings.limits) if metadata else None
        ns_id = self.namespace_id(namespace)
        wanted = list(kinds) if kinds else [MemoryKind.FACT, MemoryKind.EVENT]
        with self.read() as session:
            items, after = repo.list_records(
                session,
                ns_id,
                scope,
                kinds=wanted,
                include_inactive=include_inactive,
                after=_parse_cursor(cursor),
                limit=limit,
                metadata=meta,
            )
            items = _with_episode_events(session, ns_id, items)
        return Page(items=items, next_cursor=f"{after[0]}.{after[1]}" if after else None)

    def history(self, memory_id: str, *, namespace: str | None = None) -> list[HistoryEntry]:
        """Every recorded change of a memory, oldest first (also after it was deleted)."""
        ref = MemoryRef.parse(memory_id)
        ns_id = self.namespace_id(namespace)
        with self.read() as session:
            rows = hist.list_history(session, ns_id, ref)
            if not rows:
                repo.get_row(session, ns_id, ref)  # raises MemoryNotFound for unknown ids
        return [
            HistoryEntry(
                id=r.id,
                memory_id=str(ref),
                operation=r.operation,
                before=r.before,
                after=r.after,
                reason=r.reason,
                actor=r.actor,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def search(
        self, query: str, *, scope: Scope, namespace: str | None = None, **options: Any
    ) -> SearchResult:
        """Hybrid, iterative search over mixed memory; see :class:`memsvc.search.SearchRequest`."""
        request = SearchRequest.build(query, scope=scope, settings=self.settings, **options)
        return self._searcher.search(request, namespace_id=self.namespace_id(namespace))

    # -- structure: episodes, tree, profile -------------------------------------------------

    def episodes(
        self, *, scope: Scope, limit: int = 100, namespace: str | None = None
    ) -> list[MemoryRecord]:
        """The scope's episodes, newest first."""
        page = self.get_all(
            scope=scope, kinds=[MemoryKind.EPISODE], limit=limit, namespace=namespace
        )
        return page.items

    def tree(self, *, scope: Scope, namespace: str | None = None) -> list[MemoryRecord]:
        """The scope's MemTree nodes in depth-first order (root first); parents in attributes."""
        ns_id = self.namespace_id(namespace)
        with self.read() as session:
            rows = [to_record(r) for r in repo.tree_rows(session, ns_id, scope)]
        children: dict[int | None, list[MemoryRecord]] = {}
        for record in rows:
            children.setdefault(record.attributes.get("parent_id"), []).append(record)
        ordered: list[MemoryRecord] = []
        stack = list(reversed(children.get(None, [])))
        while stack:
            node = stack.pop()
            ordered.append(node)
            stack.extend(reversed(children.get(node.ref.id, [])))
        return ordered

    def profile(self, *, scope: Scope, namespace: str | None = None) -> MemoryRecord | None:
        """The scope's profile summary (MemoryBank's portrait), when one was built."""
        ns_id = self.namespace_id(namespace)
        with self.read() as session:
            row = repo.profile_row(session, ns_id, scope)
            return to_record(row) if row is not None else None

    # -- consolidation and operations -----------------------------------------------------

    def consolidate(self, *, scope: Scope, namespace: str | None = None) -> int:
        """Queue consolidation of a scope now; returns the job id."""
        ns_id = self.namespace_id(namespace)
        with self.begin() as session:
            job_id = jobs.enqueue(session, namespace_id=ns_id, scope=scope, now=utcnow())
        for callback in self._on_enqueue:
            callback()
        return job_id

    def rebuild_tree(self, *, scope: Scope, namespace: str | None = None) -> int:
        """Rebuild the MemTree of a scope's owner from its facts and episodes; returns leaves."""
        return self._pipeline.rebuild_tree(self.namespace_id(namespace), scope)

    def job(self, job_id: int, *, namespace: str | None = None) -> jobs.JobRow:
        """A consolidation job's status, attempts and last error (raises JobNotFound)."""
        ns_id = self.namespace_id(namespace)
        with self.read() as session:
            return jobs.get(session, ns_id, job_id)

    def run_pending_jobs(self, *, max_jobs: int = 1_000_000) -> int:
        """Run queued consolidation jobs in the calling thread until none is ready."""
        return self._make_worker().run_until_idle(max_jobs=max_jobs)

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers (readiness probes)."""
        with self.read() as session:
            session.execute(sa.text("SELECT 1"))

    def schema_revision(self) -> str | None:
        """The alembic revision the database is at (``None``: never migrated)."""
        from alembic.runtime.migration import MigrationContext

        with self.read() as session:
            return MigrationContext.configure(session.connection()).get_current_revision()

    def stats(self, *, namespace: str | None = None) -> dict[str, Any]:
        """Counts per kind, index sizes, queue depth and consolidation lag."""
        ns_id = self.namespace_id(namespace)
        with self.read() as session:
            counts = repo.count_by_kind(session, ns_id)
            queue = jobs.stats(session, ns_id)
        idx = self.indexes.get(ns_id)
        lags = sorted(self._worker.lags_s) if self._worker is not None else []
        oldest = queue["oldest_pending_requested_at"]
        return {
            "namespace": namespace or self.settings.namespace,
            "memories": counts,
            "index": {
                "dense": len(idx.dense),
                "sparse": len(idx.sparse),
                "applied_seq": idx.applied_seq,
            },
            "jobs": {k: v for k, v in queue.items() if k != "oldest_pending_requested_at"},
            "queue_lag_s": (utcnow() - oldest).total_seconds() if oldest else 0.0,
            "consolidation_lag_s": {
                "p50": _quantile(lags, 0.5),
                "p95": _quantile(lags, 0.95),
                "samples": len(lags),
            },
            "llm": {"name": self.llm.name, **asdict(self.llm.usage)},
        }

    # -- lifecycle ------------------------------------------------------------------------

    def _make_worker(self, worker_id: str | None = None) -> Worker:
        return Worker(
            begin=self.begin,
            cfg=self.settings.consolidation,
            handle=self._pipeline.run,
            worker_id=worker_id,
        )

    def start_worker(self, *, worker_id: str | None = None) -> Worker:
        """Run a consolidation worker thread in this process (idempotent)."""
        if self._worker is None:
            self._worker = self._make_worker(worker_id)
            self.on_enqueue(self._worker.wake)
            self._worker.start()
        return self._worker

    def flush(self) -> None:
        """Apply pending reinforcements and persist the indexes."""
        self._reinforcer.flush()
        self.indexes.save_all()

    def close(self) -> None:
        """Flush and stop background work. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._worker.stop()
        self._reinforcer.close()
        self.indexes.save_all()
        if self._engine is not None:
            self._engine.dispose()
        logger.info("memory service closed")

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Poll ``predicate`` until true or ``timeout`` seconds pass (tests and examples)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()


@contextmanager
def _store_errors(open_session: Callable[[], AbstractContextManager[Session]]) -> Iterator[Session]:
    """A session from ``open_session`` whose database failures become :class:`StoreUnavailable`."""
    try:
        with open_session() as session:
            yield session
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable or locked") from exc
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"the database refused the operation: {type(exc).__name__}") from exc


def _with_episode_events(
    session: Session, namespace_id: int, records: list[MemoryRecord]
) -> list[MemoryRecord]:
    """Episodes with their events as provenance (``source_event_ids``), in time order: the
    events name their episode, not the other way round, so REST showed ``[]`` (issue 17)."""
    ids = [r.ref.id for r in records if r.ref.kind is MemoryKind.EPISODE]
    if not ids:
        return records
    events: dict[int, list[int]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            sa.select(t.Event.episode_id, t.Event.id)
            .where(
                t.Event.namespace_id == namespace_id,
                t.Event.episode_id.in_(ids[start : start + 500]),
            )
            .order_by(t.Event.occurred_at, t.Event.id)
        )
        for episode_id, event_id in rows:
            events.setdefault(int(episode_id or 0), []).append(int(event_id))
    return [
        replace(r, source_event_ids=tuple(events.get(r.ref.id, ())))
        if r.ref.kind is MemoryKind.EPISODE
        else r
        for r in records
    ]


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(values[min(len(values) - 1, int(q * len(values)))])


def _set_content(row: Any, text: str) -> None:
    if isinstance(row, t.Fact):
        row.text = text
    elif isinstance(row, t.Episode):
        row.summary = text
    else:
        row.content = text


def _parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    head, _, tail = cursor.partition(".")
    if not head.isdigit() or not tail.isdigit() or len(head) > 2 or len(tail) > 18:
        raise InvalidQuery("invalid cursor")
    return int(head), int(tail)
