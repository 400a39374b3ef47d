"""The read path: from a query to scored hits with provenance (DESIGN.md, "Read path").

Candidates come from the dense and BM25 indexes of the namespace, filtered by scope, kind,
currency and time inside the index (so k hits come back whenever k exist), are fused by
reciprocal rank, loaded from SQL, checked for validity, scored, and cut to ``top_k``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memsvc.config import Settings
from memsvc.embed.cache import CachedEmbedder
from memsvc.errors import InvalidQuery, LimitExceeded
from memsvc.index.base import IndexFilter
from memsvc.index.ids import decode_key
from memsvc.index_sync import IndexSync
from memsvc.llm.base import LLMTasks
from memsvc.store.memories import get_rows
from memsvc.store.records import to_record
from memsvc.types import Hit, MemoryKind, MemoryRecord, Scope, SearchResult
from memsvc.validation import check_metadata, check_query, check_time

__all__ = ["SearchRequest", "Searcher"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchRequest:
    """A validated search."""

    query: str
    scope: Scope
    top_k: int
    kinds: frozenset[MemoryKind] | None = None
    as_of: datetime | None = None
    include_inactive: bool = False
    metadata: dict[str, Any] | None = None
    rounds: int = 1
    context_tokens: int | None = None

    @classmethod
    def build(
        cls,
        query: Any,
        *,
        scope: Scope,
        settings: Settings,
        top_k: int | None = None,
        kinds: Iterable[MemoryKind | str] | None = None,
        as_of: datetime | str | None = None,
        include_inactive: bool = False,
        metadata: Any = None,
        rounds: int | None = None,
        context_tokens: int | None = None,
    ) -> SearchRequest:
        """Validate the options of a search.

        Raises:
            InvalidQuery, LimitExceeded: an option is out of range.
        """
        text = check_query(query, settings.limits)
        k = settings.retrieval.default_top_k if top_k is None else top_k
        if not isinstance(k, int) or k < 1:
            raise InvalidQuery("top_k must be a positive integer")
        if k > settings.limits.max_top_k:
            raise LimitExceeded(
                f"top_k may be at most {settings.limits.max_top_k}",
                detail={"limit": settings.limits.max_top_k},
            )
        try:
            kind_set = frozenset(MemoryKind(k) for k in kinds) if kinds else None
        except ValueError:
            raise InvalidQuery(
                "unknown memory kind", detail={"allowed": [k.value for k in MemoryKind]}
            ) from None
        n_rounds = settings.retrieval.rounds if rounds is None else rounds
        if not 1 <= n_rounds <= 8:
            raise InvalidQuery("rounds must be between 1 and 8")
        if context_tokens is not None and not 1 <= context_tokens <= 100_000:
            raise InvalidQuery("context_tokens must be between 1 and 100000")
        return cls(
            query=text,
            scope=scope,
            top_k=k,
            kinds=kind_set,
            as_of=check_time(as_of, field="as_of"),
            include_inactive=include_inactive,
            metadata=check_metadata(metadata, settings.limits) if metadata else None,
            rounds=n_rounds,
            context_tokens=context_tokens,
        )


class Searcher:
    """Runs searches against one service's indexes and database."""

    def __init__(
        self,
        *,
        settings: Settings,
        begin: Callable[[], AbstractContextManager[Session]],
        embedder: CachedEmbedder,
        indexes: IndexSync,
        llm: LLMTasks,
        on_recall: Callable[[Iterable[int]], None],
    ) -> None:
        self._settings = settings
        self._begin = begin
        self._embedder = embedder
        self._indexes = indexes
        self._llm = llm
        self._on_recall = on_recall

    def search(self, request: SearchRequest, *, namespace_id: int) -> SearchResult:
        """Run ``request`` in a namespace."""
        started = time.perf_counter()
        cfg = self._settings.retrieval
        where = IndexFilter(
            scope=request.scope,
            kinds=request.kinds,
            current_only=not request.include_inactive and request.as_of is None,
            occurred_before=request.as_of.timestamp() if request.as_of else None,
        )
        want = max(cfg.candidates, request.top_k * 2)
        query_vec = self._embedder.embed([request.query])[0]
        with self._indexes.reading(namespace_id) as idx:
            dense = idx.dense.search(query_vec, want, where=where)
            sparse = idx.sparse.search(request.query, want, where=where)
        fused = _rrf([dense, sparse], [cfg.dense_weight, cfg.sparse_weight], cfg.rrf_k)
        records = self._load(namespace_id, [key for key, _ in fused])
        hits: list[Hit] = []
        for key, score in fused:
            record = records.get(key)
            if record is None or not _passes(record, request):
                continue
            hits.append(Hit(record=record, score=score, score_parts={"rrf": score}, source_refs=()))
            if len(hits) == request.top_k:
                break
        self._on_recall(h.record.ref.id for h in hits if h.kind is MemoryKind.FACT)
        took = (time.perf_counter() - started) * 1000
        return SearchResult(hits=hits, rounds=1, took_ms=took)

    def _load(self, namespace_id: int, keys: Sequence[int]) -> dict[int, MemoryRecord]:
        by_kind: dict[MemoryKind, list[int]] = {}
        for key in keys:
            ref = decode_key(key)
            by_kind.setdefault(ref.kind, []).append(ref.id)
        out: dict[int, MemoryRecord] = {}
        with self._begin() as session:
            for kind, ids in by_kind.items():
                for row in get_rows(session, namespace_id, kind, ids).values():
                    record = to_record(row)
                    from memsvc.index.ids import encode_key

                    out[encode_key(record.ref)] = record
        return out


def _rrf(
    lists: Sequence[Sequence[tuple[int, float]]], weights: Sequence[float], k: int
) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranked, weight in zip(lists, weights, strict=True):
        for rank, (key, _) in enumerate(ranked):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def _passes(record: MemoryRecord, request: SearchRequest) -> bool:
    if request.as_of is not None and not record.is_valid_at(request.as_of):
        return False
    if request.metadata:
        return all(record.metadata.get(k) == v for k, v in request.metadata.items())
    return True
