"""Scope erase and purge (erasure on request, GDPR Art. 17), with a verification scan.

:func:`erase` removes a scope through lineage (memsvc.consolidate.recompute). With ``purge`` it
then makes sure no byte of the erased text stays anywhere memsvc writes:

- SQL: rows and their history (a content-free :class:`~memsvc.store.tables.Erasure` row is
  kept), job rows of the scope, and every embedding-cache row whose text no current memory
  holds (the cache is keyed by text hash, which is enough to confirm a guessed text);
- the indexes: compacted (tombstoned vectors, postings and forward entries dropped), BM25 terms
  no live document uses dropped from the vocabulary, snapshots rewritten now;
- SQLite: ``secure_delete`` is on for every connection (freed cells are zeroed), then the WAL is
  checkpointed and truncated, the file VACUUMed and the WAL truncated again.

:func:`verify_erased` scans every store memsvc owns (each SQL table's text, the database file
and its ``-wal``/``-shm``, every file under the index folder) for the words of the erased text
that no remaining memory contains, and reports where it found any.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from memsvc.consolidate.pipeline import owner_of
from memsvc.consolidate.recompute import RemovalReport, remove_sources
from memsvc.embed.cache import text_hash
from memsvc.index.documents import index_text
from memsvc.store import jobs, lineage
from memsvc.store import memories as repo
from memsvc.store import tables as t
from memsvc.store.records import MODEL_BY_KIND, ORMMemory, content_of
from memsvc.types import MemoryKind, Scope, utcnow

if TYPE_CHECKING:
    from memsvc.service.facade import MemoryService

__all__ = ["counts", "erase", "verify_erased", "words"]

logger = logging.getLogger(__name__)

_WORD = re.compile(rb"[0-9a-z\x80-\xff]{4,}")


def words(texts: Iterable[str]) -> set[bytes]:
    """The lowercased words (4+ letters or digits, UTF-8) of texts: what a byte scan looks for."""
    out: set[bytes] = set()
    for text in texts:
        out.update(_WORD.findall(text.lower().encode("utf-8", "surrogatepass")))
    return out


def counts(report: RemovalReport) -> dict[str, int]:
    """Counts per store of a removal: memories per kind, stale marks, history, lineage edges."""
    out: dict[str, int] = {f"deleted_{k}": int(v) for k, v in sorted(report.removed.items())}
    out["memories"] = sum(int(report.removed.get(k.value, 0)) for k in MemoryKind)
    out["stale"] = sum(report.stale.values())
    out["history"] = report.history
    out["lineage"] = report.lineage
    return out


def erase(
    service: MemoryService,
    *,
    scope: Scope,
    purge: bool,
    verify: bool,
    erase_history: bool,
    namespace_id: int,
) -> dict[str, Any]:
    """Erase a scope (see :meth:`MemoryService.erase`); returns counts per store."""
    started = time.perf_counter()
    now = utcnow()
    with service.begin() as session:
        refs: list[lineage.Ref] = []
        for kind in MemoryKind:
            refs.extend((kind.value, i) for i in repo.scope_ids(session, namespace_id, scope, kind))
        for hook in lineage.registered().values():
            if hook.scope_ids is not None:
                refs.extend((hook.kind, i) for i in hook.scope_ids(session, namespace_id, scope))
        report = remove_sources(
            session,
            namespace_id,
            refs,
            now=now,
            erase_history=erase_history,
            actor="erase",
            reason="scope erased",
            collect_texts=purge or verify,
        )
        cancelled = jobs.cancel_scope(session, namespace_id=namespace_id, scope=scope, now=now)
        job_rows = _delete_jobs(session, namespace_id, scope) if purge else 0
        if not purge:
            for owner in report.owners.values():
                jobs.enqueue(session, namespace_id=namespace_id, scope=owner_of(owner), now=now)
    service.indexes.catch_up(namespace_id)
    out: dict[str, Any] = counts(report)
    out["jobs_cancelled"] = cancelled
    if not purge:
        if report.owners:
            for callback in service._on_enqueue:
                callback()
        out["recomputing_owners"] = len(report.owners)
        out["seconds"] = round(time.perf_counter() - started, 3)
        if verify:
            out["verify"] = verify_erased(service, report.texts)
        logger.info("erased %d memories of a scope in namespace %d", out["memories"], namespace_id)
        return out
    texts = set(report.texts)
    recomputed = 0
    for owner in report.owners.values():
        again = service._pipeline.recompute(namespace_id, owner_of(owner), purge=True)
        recomputed += sum(again.removed.values())
        out["history"] += again.history
        texts |= again.texts
    out["recomputed"] = recomputed
    out["jobs_deleted"] = job_rows
    out["embedding_cache"] = _purge_cache(service)
    index = service.indexes.purge(namespace_id)
    out["index_terms_dropped"] = index["terms_dropped"]
    with service.begin() as session:
        session.add(
            t.Erasure(
                namespace_id=namespace_id,
                scope_hash=hashlib.sha256(jobs.scope_key(scope).encode()).hexdigest(),
                purge=True,
                counts={k: v for k, v in out.items() if isinstance(v, int)},
                created_at=now,
            )
        )
    out["sqlite"] = _compact_sqlite(service)
    out["seconds"] = round(time.perf_counter() - started, 3)
    if verify:
        out["verify"] = verify_erased(service, texts)
    logger.info("purged %d memories of a scope in namespace %d", out["memories"], namespace_id)
    return out


def _delete_jobs(session: sa.orm.Session, namespace_id: int, scope: Scope) -> int:
    table = cast(sa.Table, t.Job.__table__)
    matches = [table.c[name] == value for name, value in scope.as_dict().items()]
    result = session.execute(
        sa.delete(table).where(
            table.c.namespace_id == namespace_id, table.c.status != jobs.JobStatus.RUNNING, *matches
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _current_texts(session: sa.orm.Session) -> set[str]:
    """Every text a current memory holds or is indexed by, in every namespace."""
    out: set[str] = set()
    for model in MODEL_BY_KIND.values():
        for row in session.scalars(sa.select(model)).yield_per(2_000):
            memory = cast("ORMMemory", row)
            out.add(content_of(memory))
            out.add(index_text(memory))
    return out


def _purge_cache(service: MemoryService) -> int:
    """Delete every cached vector whose text no current memory holds; returns rows deleted."""
    with service.read() as session:
        in_use = {text_hash(x) for x in _current_texts(session)}
        cached = [str(h) for h in session.scalars(sa.select(t.EmbeddingCache.text_hash))]
    gone = sorted({h for h in cached if h not in in_use})
    total = 0
    with service.begin() as session:
        for start in range(0, len(gone), 500):
            result = session.execute(
                sa.delete(t.EmbeddingCache).where(
                    t.EmbeddingCache.text_hash.in_(gone[start : start + 500])
                )
            )
            total += int(getattr(result, "rowcount", 0) or 0)
    service.embedder.forget(gone)
    return total


def _sqlite_path(service: MemoryService) -> Path | None:
    engine = service._engine
    if engine is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _compact_sqlite(service: MemoryService) -> dict[str, Any]:
    """Checkpoint and truncate the WAL, VACUUM, truncate again (no-op off SQLite)."""
    engine = service._engine
    if _sqlite_path(service) is None or engine is None:
        return {"vacuumed": False}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        first = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.execute("VACUUM")
        last = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    return {"vacuumed": True, "wal_busy": int(bool(first[0]) or bool(last[0]))}


def verify_erased(service: MemoryService, texts: Iterable[str]) -> dict[str, Any]:
    """Scan every store for the words of ``texts`` that no current memory holds.

    Returns the number of probe words, what was scanned, and ``found``: one entry per store
    (SQL table or file) where a probe word occurs, with how many occur there. ``clean`` is true
    when nothing was found.
    """
    files = _files(service)
    with service.read() as session:
        remaining = words(_current_texts(session)) | _structural_words(files)
        probes = {w for w in words(texts) - remaining if not w.isdigit()}
        found: list[dict[str, Any]] = []
        rows = 0
        for table in t.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
            if not cols or not probes:
                continue
            hits = 0
            seen: set[bytes] = set()
            for row in session.execute(sa.select(*cols)):
                rows += 1
                text = " ".join(str(v) for v in row if v is not None)
                if hit := probes & words([text]):
                    hits += 1
                    seen |= hit
            if hits:
                found.append({"store": f"sql:{table.name}", "rows": hits, "words": _sample(seen)})
    scanned = 0
    for path in files:
        try:
            data = path.read_bytes().lower()
        except OSError:
            continue
        scanned += len(data)
        hit = probes & set(_WORD.findall(data))
        if hit:
            found.append({"store": f"file:{path.name}", "path": str(path), "words": _sample(hit)})
    return {
        "probe_words": len(probes),
        "sql_rows_scanned": rows,
        "files_scanned": len(files),
        "bytes_scanned": scanned,
        "found": found,
        "clean": not found,
    }


def _structural_words(files: Iterable[Path]) -> set[bytes]:
    """Words memsvc itself writes (the schema, index metadata): never evidence of user text."""
    ddl = " ".join(str(CreateTable(table)) for table in t.metadata.sorted_tables)
    meta = []
    for path in files:
        if path.name == "meta.json":
            try:
                meta.append(path.read_text(encoding="utf-8"))
            except OSError:
                continue
    return words([ddl, *meta])


def _sample(found: set[bytes]) -> list[str]:
    """A few of the words found, so an operator can see what leaked (sorted, at most 5)."""
    return [w.decode("utf-8", "replace") for w in sorted(found)[:5]]


def _files(service: MemoryService) -> list[Path]:
    out: list[Path] = []
    db = _sqlite_path(service)
    if db is not None:
        out.extend(p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.is_file())
    base = Path(service.settings.index.dir)
    if base.is_dir():
        out.extend(sorted(p for p in base.rglob("*") if p.is_file()))
    return out
