"""A search request, and what it becomes before any index is read.

:class:`SearchRequest` is the validated input. :func:`plan_search` turns it into a
:class:`SearchPlan`: the query's time expression read relative to the scope's own present (its
latest event, not the server clock) and turned into a filter or a boost, the scope's speakers
named in the query, the filter the indexes apply, and the checks they cannot make.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memsvc.config import RetrievalSettings, Settings
from memsvc.errors import InvalidQuery, LimitExceeded
from memsvc.index.base import IndexFilter
from memsvc.retrieval.speakers import name_query
from memsvc.retrieval.timeparse import TimeWindow, parse_time, time_filter
from memsvc.search.candidates import Accept, scope_speakers
from memsvc.store.memories import latest_event_time
from memsvc.types import FactStatus, MemoryKind, MemoryRecord, Scope, utcnow
from memsvc.validation import check_metadata, check_query, check_time

__all__ = ["ScopeState", "ScopeStates", "SearchPlan", "SearchRequest", "plan_search"]

_HIDDEN = frozenset({FactStatus.FORGOTTEN.value, FactStatus.DELETED.value})


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


@dataclass(frozen=True)
class SearchPlan:
    """What the retrievers and the scorer are given.

    Attributes:
        text: the query for BM25 and for query refinement.
        dense_text: the query for the dense retriever (speakers' names neutralised).
        names: the scope's speakers the query names.
        where: the filter the indexes apply (scope, kinds, currency, time).
        accept: checks on loaded rows (metadata, validity at ``as_of``), or ``None``.
        reference_at: the scope's present: its latest event time (``None``: no events).
        window: the query's time window (a boost, and a filter when ``is_filtered``).
        is_filtered: whether ``where`` holds the window as a hard filter.
    """

    text: str
    dense_text: str
    names: tuple[str, ...]
    where: IndexFilter
    accept: Accept | None
    reference_at: datetime | None
    window: TimeWindow | None
    is_filtered: bool

    def admits(self, record: MemoryRecord, scope: Scope) -> bool:
        """Whether a memory found other than through the indexes (contiguity) passes too."""
        where = self.where
        at = record.occurred_at.timestamp()
        if not scope.contains(record.scope):
            return False
        if where.kinds is not None and record.kind not in where.kinds:
            return False
        if where.occurred_after is not None and at < where.occurred_after:
            return False
        if where.occurred_before is not None and at > where.occurred_before:
            return False
        return self.accept is None or self.accept(record)


@dataclass(frozen=True)
class ScopeState:
    """What a search needs to know about its scope: its present and its speakers."""

    reference_at: datetime | None
    speakers: tuple[str, ...]


class ScopeStates:
    """Scope states, cached until the namespace's change-log sequence moves.

    Every write appends to the change log, so a state read at sequence ``n`` holds for as long
    as the indexes are at ``n``; a chat that searches between writes pays two queries once.

    Args:
        capacity: scopes kept (least recently used ones are dropped).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._states: OrderedDict[tuple[int, Scope], tuple[int, ScopeState]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, namespace_id: int, scope: Scope, *, seq: int) -> ScopeState:
        """The state of ``scope`` at change-log sequence ``seq`` (read when not cached)."""
        key = (namespace_id, scope)
        with self._lock:
            found = self._states.get(key)
            if found is not None and found[0] == seq:
                self._states.move_to_end(key)
                return found[1]
        state = ScopeState(
            reference_at=latest_event_time(session, namespace_id, scope),
            speakers=tuple(scope_speakers(session, namespace_id, scope)),
        )
        with self._lock:
            self._states[key] = (seq, state)
            self._states.move_to_end(key)
            while len(self._states) > self._capacity:
                self._states.popitem(last=False)
        return state


def plan_search(request: SearchRequest, state: ScopeState, cfg: RetrievalSettings) -> SearchPlan:
    """Read the request against the scope's own present and its speakers.

    Args:
        request: the validated request.
        state: the scope's present and speakers (:class:`ScopeStates`).
        cfg: the retrieval settings (time mode and margin, speaker handling).
    """
    reference_at = state.reference_at
    window = hard = None
    if cfg.time_mode != "off":
        parsed = parse_time(request.query, now=reference_at or utcnow())
        if parsed is not None:
            window = parsed.window
            hard = time_filter(window, mode=cfg.time_mode, margin_days=cfg.time_filter_margin_days)
    ends = (request.as_of, hard.end if hard is not None else None)
    before = [x.timestamp() for x in ends if x is not None]
    where = IndexFilter(
        scope=request.scope,
        kinds=request.kinds,
        current_only=not request.include_inactive and request.as_of is None,
        occurred_after=hard.start.timestamp() if hard and hard.start else None,
        occurred_before=min(before) if before else None,
    )
    dense_text, names = request.query, tuple[str, ...]()
    if cfg.speaker_names:
        named = name_query(request.query, state.speakers)
        dense_text, names = named.neutral, named.names
    return SearchPlan(
        text=request.query,
        dense_text=dense_text,
        names=names,
        where=where,
        accept=_acceptor(request),
        reference_at=reference_at,
        window=window,
        is_filtered=hard is not None,
    )


def _acceptor(request: SearchRequest) -> Accept | None:
    """The checks the indexes cannot make: metadata equality, validity at ``as_of``."""
    metadata, as_of = request.metadata, request.as_of
    if not metadata and as_of is None:
        return None

    def accept(record: MemoryRecord) -> bool:
        if metadata and any(record.metadata.get(k) != v for k, v in metadata.items()):
            return False
        if as_of is None:
            return True
        if record.status in _HIDDEN and not request.include_inactive:
            return False
        return record.is_valid_at(as_of)

    return accept
