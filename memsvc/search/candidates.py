"""Candidates of one search: ranked dense and BM25 lists, and the rows behind them.

The indexes filter by scope, kind, currency and event time themselves, so those filters cost
nothing here. What an index cannot see (metadata equality, bi-temporal validity at ``as_of``) is
checked on the loaded rows; when too few candidates pass, the search is repeated with a wider
``k`` (four times as many each time) until enough pass or the index has nothing more to give,
so a filtered search returns ``k`` hits whenever ``k`` exist, without a fixed over-fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.index.base import IndexFilter
from memsvc.index.ids import decode_key, encode_key
from memsvc.index.sync import IndexSync
from memsvc.store import tables as t
from memsvc.store.memories import get_records, scope_clause
from memsvc.types import MemoryKind, MemoryRecord, MemoryRef, Scope

__all__ = [
    "Accept",
    "Candidates",
    "RecordCache",
    "episode_events",
    "ranked_candidates",
    "scope_speakers",
    "source_refs",
]

#: A check on a loaded memory that the indexes cannot make (metadata, validity at ``as_of``).
Accept = Callable[[MemoryRecord], bool]
Ranked = list[tuple[int, float]]

_WIDEN = 4


class RecordCache:
    """The memories one search has loaded, by index key (one SELECT per kind per batch)."""

    def __init__(self, session: Session, namespace_id: int) -> None:
        self.session = session
        self.namespace_id = namespace_id
        self._records: dict[int, MemoryRecord] = {}
        self._missing: set[int] = set()

    def load(self, keys: Iterable[int]) -> None:
        """Load the memories of ``keys`` not loaded yet (deleted ones are remembered as missing)."""
        by_kind: dict[MemoryKind, list[int]] = {}
        for key in keys:
            key = int(key)
            if key in self._records or key in self._missing:
                continue
            ref = decode_key(key)
            by_kind.setdefault(ref.kind, []).append(ref.id)
        for kind, ids in by_kind.items():
            found = get_records(self.session, self.namespace_id, kind, ids)
            for row_id in ids:
                key = encode_key(MemoryRef(kind, row_id))
                record = found.get(row_id)
                if record is None:
                    self._missing.add(key)
                else:
                    self._records[key] = record

    def record(self, key: int) -> MemoryRecord | None:
        """The memory behind ``key`` (``None`` when it is not loaded or no longer exists)."""
        return self._records.get(key)


@dataclass(frozen=True, slots=True)
class Candidates:
    """One round's ranked lists, each already filtered, best first."""

    dense: Ranked
    sparse: Ranked


def _passing(found: Ranked, records: RecordCache, accept: Accept | None) -> Ranked:
    return [
        (key, score)
        for key, score in found
        if (record := records.record(key)) is not None and (accept is None or accept(record))
    ]


def _widened(
    search: Callable[[int], Ranked],
    want: int,
    *,
    records: RecordCache,
    accept: Accept,
) -> Ranked:
    """The first ``want`` results of ``search`` that ``accept`` lets through."""
    n = want
    while True:
        found = search(n)
        records.load(key for key, _ in found)
        passing = _passing(found, records, accept)
        if len(passing) >= want or len(found) < n:
            return passing[:want]
        n *= _WIDEN


def ranked_candidates(
    indexes: IndexSync,
    namespace_id: int,
    *,
    text: str,
    vector: npt.NDArray[np.float32],
    where: IndexFilter,
    want: int,
    records: RecordCache,
    accept: Accept | None = None,
) -> Candidates:
    """Dense and BM25 candidates for one query, ``want`` of each when that many pass.

    Args:
        indexes: the service's indexes.
        namespace_id: whose indexes.
        text: the query text for BM25.
        vector: the query vector, shape ``(dim,)``.
        where: the filter the indexes apply.
        want: results per retriever.
        records: where the rows are loaded (and kept for the rest of the search).
        accept: a further check on loaded rows; the search widens until ``want`` pass.
    """

    def dense(n: int) -> Ranked:
        with indexes.reading(namespace_id) as idx:
            return idx.dense.search(vector, n, where=where)

    def sparse(n: int) -> Ranked:
        with indexes.reading(namespace_id) as idx:
            return idx.sparse.search(text, n, where=where)

    if accept is not None:
        return Candidates(
            dense=_widened(dense, want, records=records, accept=accept),
            sparse=_widened(sparse, want, records=records, accept=accept),
        )
    # Nothing to check but existence: both lists, then one load for their union.
    found_dense, found_sparse = dense(want), sparse(want)
    records.load([key for key, _ in found_dense] + [key for key, _ in found_sparse])
    return Candidates(
        dense=_passing(found_dense, records, None), sparse=_passing(found_sparse, records, None)
    )


def source_refs(
    session: Session, records: RecordCache, memories: Sequence[MemoryRecord]
) -> dict[int, str]:
    """The client's own ids of the source events of ``memories``.

    Returns:
        ``{event id: metadata["ref"]}`` for every source event that has a ref: from the rows
        this search loaded already, the others read with one query per 500 events (only the
        metadata column).
    """
    out: dict[int, str] = {}
    missing = set()
    for event_id in {i for memory in memories for i in memory.source_event_ids}:
        record = records.record(encode_key(MemoryRef(MemoryKind.EVENT, event_id)))
        if record is not None:
            if (ref := record.metadata.get("ref")) is not None:
                out[event_id] = str(ref)
        else:
            missing.add(event_id)
    wanted = sorted(missing)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stmt = sa.select(t.Event.id, t.Event.meta).where(
            t.Event.namespace_id == records.namespace_id, t.Event.id.in_(chunk)
        )
        for event_id, meta in session.execute(stmt):
            ref = (meta or {}).get("ref")
            if ref is not None:
                out[int(event_id)] = str(ref)
    return out


def scope_speakers(session: Session, namespace_id: int, scope: Scope) -> list[str]:
    """The distinct speakers of a scope's events (the names a query may mention)."""
    stmt = (
        sa.select(t.Event.speaker)
        .where(scope_clause(t.Event, namespace_id, scope), t.Event.speaker.is_not(None))
        .distinct()
    )
    return sorted(str(s) for s in session.scalars(stmt) if s)


def episode_events(
    session: Session, namespace_id: int, episode_ids: Sequence[int]
) -> dict[int, tuple[int, ...]]:
    """The events of each episode, in time order (an episode row does not list them)."""
    out: dict[int, list[int]] = {i: [] for i in episode_ids}
    if not episode_ids:
        return {}
    stmt = (
        sa.select(t.Event.episode_id, t.Event.id)
        .where(t.Event.namespace_id == namespace_id, t.Event.episode_id.in_(list(episode_ids)))
        .order_by(t.Event.occurred_at, t.Event.id)
    )
    for episode_id, event_id in session.execute(stmt):
        if episode_id is not None:
            out[int(episode_id)].append(int(event_id))
    return {k: tuple(v) for k, v in out.items()}
