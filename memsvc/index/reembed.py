"""Re-embed a namespace with another model, in the background of a running service.

``memsvc -s embed.backend=static index reembed`` (any embedder setting) streams the namespace's
memories from SQL in id order, a chunk at a time (never the whole namespace in memory), embeds
their index text with the configured model and stores the vectors in the SQL vector store under
that model's id (``embedding_cache.model``: every stored vector says which model made it). A
server still configured with the old model keeps answering from its own indexes meanwhile: it
reads and writes only its own model's vectors. Once every memory has a vector of the new model,
the indexes are rebuilt from the store (no model call: every vector is found there) and the
service switched to the new model finds them ready.

The walk is resumable: a chunk whose vectors are all stored already costs a lookup, not a
model call, so an interrupted re-embed continues where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.embed.cache import CachedEmbedder
from memsvc.index.documents import index_text
from memsvc.store.memories import get_rows
from memsvc.store.records import MODEL_BY_KIND
from memsvc.store.vectors import save_vectors
from memsvc.types import MemoryKind

__all__ = ["ReembedReport", "count_memories", "reembed_namespace"]

logger = logging.getLogger(__name__)

Begin = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class ReembedReport:
    """What a re-embed did."""

    namespace_id: int
    model_id: str
    memories: int
    embedded: int
    already_stored: int
    seconds: float


def count_memories(session: Session, namespace_id: int) -> int:
    """Memories of every kind in the namespace (one COUNT per kind)."""
    total = 0
    for model in MODEL_BY_KIND.values():
        stmt = (
            sa.select(sa.func.count()).select_from(model).where(model.namespace_id == namespace_id)
        )
        total += int(session.scalar(stmt) or 0)
    return total


def _id_chunks(read: Begin, namespace_id: int, kind: MemoryKind, size: int) -> Iterator[list[int]]:
    """The kind's ids in ascending chunks (keyset pagination: no full id list)."""
    model = MODEL_BY_KIND[kind]
    last = 0
    while True:
        with read() as session:
            stmt = (
                sa.select(model.id)
                .where(model.namespace_id == namespace_id, model.id > last)
                .order_by(model.id)
                .limit(size)
            )
            ids = [int(i) for i in session.scalars(stmt)]
        if not ids:
            return
        yield ids
        last = ids[-1]


def reembed_namespace(
    namespace_id: int,
    *,
    embedder: CachedEmbedder,
    begin: Begin,
    read: Begin,
    chunk: int = 1_000,
    progress: Callable[[int, int], None] | None = None,
) -> ReembedReport:
    """Store a vector of ``embedder``'s model for every memory of the namespace.

    Args:
        embedder: the target model, behind the cache (its SQL store makes the walk resumable).
        chunk: memories read, embedded and committed together.
        progress: called with (done, total) after each chunk.
    """
    started = time.perf_counter()
    with read() as session:
        total = count_memories(session, namespace_id)
    done = embedded = 0
    for kind in MemoryKind:
        for ids in _id_chunks(read, namespace_id, kind, chunk):
            with read() as session:
                rows = get_rows(session, namespace_id, kind, ids)
                texts = [text for text in (index_text(r) for r in rows.values()) if text.strip()]
            if texts:
                _, new = embedder.embed_with_new(texts)
                if new:
                    with begin() as session:
                        save_vectors(session, embedder.model_id, new)
                    embedded += len(new)
            done += len(ids)
            if progress is not None:
                progress(done, total)
    seconds = time.perf_counter() - started
    logger.info(
        "namespace %d re-embedded with %s: %d memories, %d new vectors in %.1fs",
        namespace_id,
        embedder.model_id,
        done,
        embedded,
        seconds,
    )
    return ReembedReport(
        namespace_id=namespace_id,
        model_id=embedder.model_id,
        memories=done,
        embedded=embedded,
        already_stored=done - embedded,
        seconds=round(seconds, 2),
    )
