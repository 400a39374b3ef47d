"""Keeps each namespace's dense and BM25 indexes in step with SQL through the change log.

SQL is the source of truth; the indexes are caches persisted with the change-log sequence they
include. Every write path ends in :meth:`IndexSync.catch_up`, which reads the change log after
that sequence and reconciles each named memory with its *current* row (upsert when it exists,
remove when it does not). Because the reconciliation is state-based, replaying a change twice is
harmless, so the same mechanism serves local writes, crash recovery at start, and replicas that
tail changes made by other processes.

Within a namespace the change-log sequence is assigned in commit order (the store takes a
namespace lock on PostgreSQL until commit), so a tailer never skips a change that commits late.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from memsvc.config import IndexSettings
from memsvc.embed.cache import CachedEmbedder
from memsvc.errors import IndexOutOfSync
from memsvc.index.base import IndexTags, SparseIndex, VectorIndex
from memsvc.index.documents import index_tags, index_text
from memsvc.index.ids import decode_key, encode_key
from memsvc.index.registry import (
    load_sparse_index,
    load_vector_index,
    make_sparse_index,
    make_vector_index,
)
from memsvc.store import change_log, lineage
from memsvc.store.memories import get_rows
from memsvc.store.records import MODEL_BY_KIND
from memsvc.store.vectors import save_vectors
from memsvc.types import MemoryKind, MemoryRef, utcnow

__all__ = ["IndexSync", "NamespaceIndexes", "VerifyReport"]

logger = logging.getLogger(__name__)

_TAIL_BATCH = 5_000
_SAVE_RETRY_S = 30.0


@dataclass
class NamespaceIndexes:
    """The indexes of one namespace and the lock that serialises access to them."""

    namespace_id: int
    dense: VectorIndex
    sparse: SparseIndex
    lock: threading.RLock = field(default_factory=threading.RLock)
    unsaved: int = 0
    last_poll: float = 0.0
    last_report: float = float("-inf")

    @property
    def applied_seq(self) -> int:
        """The change-log sequence both indexes include."""
        return min(self.dense.applied_seq, self.sparse.applied_seq)


@dataclass
class _Batch:
    gone: list[int] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    tags: list[IndexTags] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyReport:
    """Differences between SQL and an index."""

    namespace_id: int
    sql_count: int
    dense_count: int
    sparse_count: int
    missing: list[str]
    extra: list[str]

    @property
    def is_ok(self) -> bool:
        """No drift."""
        return not self.missing and not self.extra


class IndexSync:
    """Loads, updates, persists and rebuilds the per-namespace indexes."""

    def __init__(
        self,
        cfg: IndexSettings,
        *,
        begin: Callable[[], AbstractContextManager[Session]],
        read: Callable[[], AbstractContextManager[Session]] | None = None,
        embedder: CachedEmbedder,
    ) -> None:
        self._cfg = cfg
        self._begin = begin
        self._read = read or begin
        self._embedder = embedder
        self._by_ns: dict[int, NamespaceIndexes] = {}
        self._lock = threading.Lock()
        self._rebuilding: set[int] = set()
        self.reader_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._save_failure: tuple[str, float] | None = None  # error name, monotonic time

    def _dir(self, namespace_id: int) -> Path:
        return Path(self._cfg.dir) / f"ns_{namespace_id}"

    def get(self, namespace_id: int) -> NamespaceIndexes:
        """The namespace's indexes, loaded from disk and caught up with the change log.

        A snapshot that is missing or unreadable (a crash, another process's bug, a disk
        problem) is not an error: the indexes are rebuilt from SQL, which holds the truth and
        the stored vectors; :meth:`state` says "rebuilding" meanwhile, and other callers wait.
        """
        with self._lock:
            found = self._by_ns.get(namespace_id)
            if found is not None:
                return found
            base = self._dir(namespace_id)
            broken: IndexOutOfSync | None = None
            try:
                dense = load_vector_index(
                    self._cfg, self._embedder.dim, base / "dense", model_id=self._embedder.model_id
                )
                sparse = load_sparse_index(base / "sparse", self._cfg)
            except IndexOutOfSync as exc:
                broken = exc
                dense = make_vector_index(
                    self._cfg, self._embedder.dim, model_id=self._embedder.model_id
                )
                sparse = make_sparse_index(self._cfg)
            found = NamespaceIndexes(namespace_id, dense, sparse)
            # Taken before anyone else can see the entry: nobody uses it half loaded.
            found.lock.acquire()
            self._by_ns[namespace_id] = found
            if broken is not None:
                self._rebuilding.add(namespace_id)
        try:
            if broken is not None:
                logger.warning(
                    "index snapshot of namespace %d is unusable (%s); rebuilding it from SQL",
                    namespace_id,
                    broken.message,
                )
                self._rebuild_into(found)
                return found
            applied = self.catch_up(namespace_id)
            logger.info(
                "indexes of namespace %d loaded: %d vectors, %d replayed changes",
                namespace_id,
                len(found.dense),
                applied,
            )
        finally:
            self._rebuilding.discard(namespace_id)
            found.lock.release()
        return found

    def state(self) -> str:
        """``"ok"``, ``"rebuilding"``, or ``"saving failed: <error>"`` (serving continues)."""
        if self._rebuilding:
            return "rebuilding"
        if self._save_failure is not None:
            return "saving failed: " + self._save_failure[0]
        return "ok"

    @contextmanager
    def reading(self, namespace_id: int) -> Iterator[NamespaceIndexes]:
        """Hold the namespace's indexes for a search, after pulling changes of other processes."""
        idx = self.get(namespace_id)
        now = time.monotonic()
        if now - idx.last_poll >= self._cfg.sync_interval_s:
            idx.last_poll = now
            self.catch_up(namespace_id)
        with idx.lock:
            yield idx

    @contextmanager
    def holding(self, namespace_id: int) -> Iterator[NamespaceIndexes]:
        """Hold the namespace's indexes as they are, without reading the change log.

        For callers inside a write transaction: pulling changes would open a second
        transaction, which SQLite's single writer would make wait on the first.
        """
        idx = self.get(namespace_id)
        with idx.lock:
            yield idx

    def catch_up(self, namespace_id: int) -> int:
        """Apply every change after the indexes' sequence; returns how many were read."""
        idx = self._by_ns.get(namespace_id) or self.get(namespace_id)
        total = 0
        with idx.lock:
            while True:
                with self._read() as session:
                    behind = idx.applied_seq < change_log.trimmed_before(session, namespace_id) - 1
                if behind:
                    # Changes this cache never saw were trimmed away: only SQL has them now.
                    logger.warning(
                        "indexes of namespace %d are behind the trimmed change log; rebuilding",
                        namespace_id,
                    )
                    self._rebuilding.add(namespace_id)
                    try:
                        return self._rebuild_into(idx)
                    finally:
                        self._rebuilding.discard(namespace_id)
                with self._read() as session:
                    rows = change_log.tail(
                        session,
                        namespace_id=namespace_id,
                        after_seq=idx.applied_seq,
                        limit=_TAIL_BATCH,
                    )
                    if not rows:
                        break
                    high = rows[-1].seq
                    batch = self._collect(
                        session, namespace_id, {(r.memory_kind, r.memory_id) for r in rows}
                    )
                self._apply(idx, batch)
                total += len(rows)
                idx.dense.applied_seq = idx.sparse.applied_seq = high
                idx.unsaved += len(rows)
                if len(rows) < _TAIL_BATCH:
                    break
            if idx.unsaved >= self._cfg.save_every:
                self._save_quietly(idx)
            self._report(idx)
        return total

    def _report(self, idx: NamespaceIndexes) -> None:
        """Every ``reader_report_s``: say how far this cache has read, and trim the log below
        every live reader. Never raises (the log just stays longer)."""
        now = time.monotonic()
        if now - idx.last_report < self._cfg.reader_report_s:
            return
        idx.last_report = now
        try:
            with self._begin() as session:
                change_log.report_reader(
                    session,
                    namespace_id=idx.namespace_id,
                    reader_id=self.reader_id,
                    applied_seq=idx.applied_seq,
                    now=utcnow(),
                )
                deleted = change_log.trim_to_readers(
                    session,
                    namespace_id=idx.namespace_id,
                    live_after=utcnow() - timedelta(seconds=self._cfg.reader_ttl_s),
                )
        except Exception as exc:  # bookkeeping only
            logger.warning("change-log trim skipped: %s", type(exc).__name__)
            return
        if deleted:
            logger.debug("change log of namespace %d trimmed by %d rows", idx.namespace_id, deleted)

    def catch_up_after_commit(self, namespace_id: int) -> bool:
        """:meth:`catch_up` for a writer whose data is committed: a failure is never raised.

        The write is stored, so its caller must hear "stored" (with the ids), not an error;
        the indexes are marked stale and the next read of the namespace catches up first.
        Returns whether the indexes include the write now.
        """
        try:
            self.catch_up(namespace_id)
        except Exception as exc:  # a boundary: the commit happened, the cache follows later
            idx = self._by_ns.get(namespace_id)
            if idx is not None:
                idx.last_poll = float("-inf")
            logger.warning(
                "indexes of namespace %d did not catch up after a commit (%s); "
                "they will at the next read",
                namespace_id,
                type(exc).__name__,
            )
            logger.debug("catch-up failure", exc_info=True)
            return False
        return True

    def _collect(
        self, session: Session, namespace_id: int, changed: set[tuple[str, int]]
    ) -> _Batch:
        """Read the current state of changed memories (inside a read transaction)."""
        by_kind: dict[MemoryKind, list[int]] = defaultdict(list)
        for kind, memory_id in changed:
            by_kind[MemoryKind(kind)].append(memory_id)
        batch = _Batch()
        for kind, ids in by_kind.items():
            rows = get_rows(session, namespace_id, kind, ids)
            for stale in lineage.stale_ids(session, namespace_id, kind.value, rows):
                rows.pop(stale)  # stale: out of the indexes until recomputed
            for memory_id in ids:
                key = encode_key(MemoryRef(kind, memory_id))
                row = rows.get(memory_id)
                text = index_text(row) if row is not None else ""
                if row is None or not text.strip():
                    batch.gone.append(key)
                    continue
                batch.keys.append(key)
                batch.texts.append(text)
                batch.tags.append(index_tags(row))
        return batch

    def _apply(self, idx: NamespaceIndexes, batch: _Batch) -> None:
        """Embed (through the cache; new vectors are persisted) and update both indexes."""
        if batch.gone:
            idx.dense.remove(batch.gone)
            idx.sparse.remove(batch.gone)
        if batch.keys:
            vectors, new = self._embedder.embed_with_new(batch.texts)
            # The writer normally stored them with the memory; this is the safety net for
            # vectors this process computed and nobody stored (a write path that did not).
            new.update(self._embedder.unsaved(batch.texts))
            if new:
                with self._begin() as session:
                    save_vectors(session, self._embedder.model_id, new)
                self._embedder.mark_saved(list(new))
            key_arr = np.asarray(batch.keys, dtype=np.int64)
            idx.dense.add(key_arr, vectors, batch.tags)
            idx.sparse.add(key_arr, batch.texts, batch.tags)

    def _save(self, idx: NamespaceIndexes) -> None:
        base = self._dir(idx.namespace_id)
        started = time.perf_counter()
        # No snapshot, in any process, writes back terms or scope strings of removed documents.
        for index, step in ((idx.sparse, "prune_terms"), (idx.dense, "prune_strings")):
            prune = getattr(index, step, None)
            if callable(prune):
                prune()
        idx.dense.save(base / "dense")
        idx.sparse.save(base / "sparse")
        idx.unsaved = 0
        logger.info(
            "indexes of namespace %d saved at seq %d in %.2fs",
            idx.namespace_id,
            idx.applied_seq,
            time.perf_counter() - started,
        )

    def _save_quietly(self, idx: NamespaceIndexes) -> bool:
        """Save, or record why not: a snapshot is a cache, and the data it caches is committed.

        A failing folder (read-only, full disk) is retried at most every
        :data:`_SAVE_RETRY_S` seconds; the failure shows in :meth:`state` until a save works.
        """
        failure = self._save_failure
        if failure is not None and time.monotonic() - failure[1] < _SAVE_RETRY_S:
            return False
        try:
            self._save(idx)
        except (OSError, IndexOutOfSync) as exc:
            self._save_failure = (type(exc).__name__, time.monotonic())
            logger.warning(
                "indexes of namespace %d could not be saved (%s); serving from memory",
                idx.namespace_id,
                type(exc).__name__,
            )
            return False
        if failure is not None:
            logger.info("index snapshots save again")
        self._save_failure = None
        return True

    def save_all(self) -> None:
        """Persist every loaded index (on shutdown); a failure is logged, never raised."""
        self._save_failure = None  # a last attempt, whatever happened before
        for idx in list(self._by_ns.values()):
            with idx.lock:
                if idx.unsaved:
                    self._save_quietly(idx)

    def rebuild(
        self, namespace_id: int, *, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Rebuild the namespace's indexes from SQL; returns the number of memories indexed.

        Never reads the old snapshot, so it repairs whatever state the folder is in.
        """
        with self._lock:
            idx = self._by_ns.get(namespace_id)
            if idx is None:
                idx = NamespaceIndexes(
                    namespace_id,
                    make_vector_index(
                        self._cfg, self._embedder.dim, model_id=self._embedder.model_id
                    ),
                    make_sparse_index(self._cfg),
                )
                self._by_ns[namespace_id] = idx
            self._rebuilding.add(namespace_id)
        try:
            with idx.lock:
                return self._rebuild_into(idx, progress=progress)
        finally:
            self._rebuilding.discard(namespace_id)

    def _rebuild_into(
        self, idx: NamespaceIndexes, *, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Fill ``idx`` from SQL (caller holds ``idx.lock``), save it, and catch up."""
        namespace_id = idx.namespace_id
        started = time.perf_counter()
        with self._read() as session:
            seq = change_log.last_seq(session, namespace_id)
            all_ids = {kind: _all_ids(session, namespace_id, kind) for kind in MemoryKind}
        idx.dense = make_vector_index(
            self._cfg, self._embedder.dim, model_id=self._embedder.model_id
        )
        idx.sparse = make_sparse_index(self._cfg)
        total = sum(len(v) for v in all_ids.values())
        done = 0
        for kind, ids in all_ids.items():
            for start in range(0, len(ids), 2_000):
                chunk = ids[start : start + 2_000]
                with self._read() as session:
                    batch = self._collect(session, namespace_id, {(kind.value, i) for i in chunk})
                self._apply(idx, batch)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        idx.dense.applied_seq = idx.sparse.applied_seq = seq
        idx.unsaved = max(idx.unsaved, 1)
        self._save_failure = None
        self._save_quietly(idx)
        self.catch_up(namespace_id)
        logger.info(
            "indexes of namespace %d rebuilt from SQL: %d memories in %.2fs",
            namespace_id,
            total,
            time.perf_counter() - started,
        )
        return total

    def verify(self, namespace_id: int) -> VerifyReport:
        """Compare the keys held by the indexes with the memories in SQL."""
        idx = self.get(namespace_id)
        self.catch_up(namespace_id)
        with self._read() as session:
            expected: set[int] = set()
            for kind in MemoryKind:
                rows = get_rows(session, namespace_id, kind, _all_ids(session, namespace_id, kind))
                for stale in lineage.stale_ids(session, namespace_id, kind.value, rows):
                    rows.pop(stale)
                expected.update(
                    encode_key(MemoryRef(kind, r.id))
                    for r in rows.values()
                    if index_text(r).strip()
                )
        with idx.lock:
            held = set(map(int, idx.dense.keys()))
            sparse_held = set(map(int, idx.sparse.keys()))
            missing = sorted(expected - held) + sorted(expected - sparse_held)
            extra = sorted(held - expected) + sorted(sparse_held - expected)
            return VerifyReport(
                namespace_id=namespace_id,
                sql_count=len(expected),
                dense_count=len(held),
                sparse_count=len(sparse_held),
                missing=sorted({str(decode_key(k)) for k in missing}),
                extra=sorted({str(decode_key(k)) for k in extra}),
            )

    def purge(self, namespace_id: int) -> dict[str, int]:
        """Catch up, then drop every trace of removed documents and persist now (erasure).

        Compacts both indexes (tombstoned vectors, postings and forward entries go), drops BM25
        terms no document uses any more, and writes new snapshots (old ones are deleted); a
        tantivy index, which cannot drop them in place, is rebuilt from SQL (``rebuilt``: 1).
        Returns the number of BM25 terms dropped and the sizes after.
        """
        self.catch_up(namespace_id)
        idx = self.get(namespace_id)
        with idx.lock:
            for name in ("compact", "prune_strings"):
                step = getattr(idx.dense, name, None)
                if callable(step):
                    step()
            prune = getattr(idx.sparse, "prune_terms", None)
            dropped = int(prune()) if callable(prune) else 0
            if getattr(idx.sparse, "holds_removed_terms", False):
                # tantivy keeps a removed document's terms until its segment merges, and its
                # binding cannot force one: only a fresh index from SQL holds none of them.
                self._rebuild_into(idx)
                return {
                    "terms_dropped": 0,
                    "rebuilt": 1,
                    "dense": len(idx.dense),
                    "sparse": len(idx.sparse),
                }
            self._save(idx)
            return {"terms_dropped": dropped, "dense": len(idx.dense), "sparse": len(idx.sparse)}

    def loaded(self) -> list[NamespaceIndexes]:
        """The namespaces whose indexes are in memory."""
        return list(self._by_ns.values())


def _all_ids(session: Session, namespace_id: int, kind: MemoryKind) -> list[int]:
    import sqlalchemy as sa

    model = MODEL_BY_KIND[kind]
    return [
        int(i)
        for i in session.scalars(sa.select(model.id).where(model.namespace_id == namespace_id))
    ]
