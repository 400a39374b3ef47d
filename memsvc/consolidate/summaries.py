"""Session, day and profile summaries (MemoryBank's daily summaries and user portrait).

A summary is stale when one of its sources (episodes for sessions and days, active facts for the
profile) changed after it was written; only stale summaries are rebuilt, so the step is cheap to
run at the end of every job and repairs itself after an interruption.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.embed.cache import CachedEmbedder
from memsvc.index.persist import persist_vectors
from memsvc.llm.base import LLMTasks
from memsvc.store import change_log, lineage
from memsvc.store import tables as t
from memsvc.store.jobs import scope_key
from memsvc.store.memories import scope_clause
from memsvc.types import FactStatus, MemoryKind, Scope, SummaryKind

__all__ = ["refresh_summaries"]

_PROFILE_FACTS = 120
_MAX_SOURCES = 60


@dataclass
class _Group:
    texts: list[str] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    sources: set[lineage.Ref] = field(default_factory=set)
    latest_change: datetime | None = None
    occurred_at: datetime | None = None


def refresh_summaries(
    *,
    begin: Callable[[], AbstractContextManager[Session]],
    llm: LLMTasks,
    namespace_id: int,
    owner: Scope,
    now: datetime,
    embedder: CachedEmbedder | None = None,
) -> int:
    """Rebuild the stale session, day and profile summaries of ``owner``; returns how many.

    The model calls (summaries, and their vectors when ``embedder`` is given) happen before the
    write transaction; the vectors are stored in it, with the summaries.
    """
    owner_key = scope_key(owner)
    with begin() as session:
        groups = _episode_groups(session, namespace_id, owner)
        profile = _profile_group(session, namespace_id, owner)
        if profile.texts:
            groups[(SummaryKind.PROFILE, "profile", None)] = profile
        existing = _existing(session, namespace_id, owner_key)
    stale = {
        key: group
        for key, group in groups.items()
        if key[:2] not in existing
        or (group.latest_change is not None and existing[key[:2]] < group.latest_change)
    }
    if not stale:
        return 0
    texts = {
        key: llm.summarize(group.texts[-_MAX_SOURCES:], key[0]) for key, group in stale.items()
    }
    written = [x for x in texts.values() if x.strip()]
    if embedder is not None and written:
        embedder.embed(written)
    with begin() as session:
        ids = []
        for (kind, key, session_id), group in stale.items():
            ids.append(
                _upsert(
                    session,
                    namespace_id=namespace_id,
                    owner=owner,
                    owner_key=owner_key,
                    kind=kind,
                    key=key,
                    session_id=session_id,
                    content=texts[(kind, key, session_id)],
                    group=group,
                    now=now,
                )
            )
        if embedder is not None:
            persist_vectors(session, embedder, written)
        change_log.append(
            session,
            namespace_id=namespace_id,
            kind=MemoryKind.SUMMARY,
            memory_ids=ids,
            op="upsert",
            now=now,
        )
    return len(stale)


def _episode_groups(
    session: Session, namespace_id: int, owner: Scope
) -> dict[tuple[SummaryKind, str, str | None], _Group]:
    stmt = (
        sa.select(t.Episode)
        .where(scope_clause(t.Episode, namespace_id, owner))
        .order_by(t.Episode.started_at, t.Episode.id)
    )
    groups: dict[tuple[SummaryKind, str, str | None], _Group] = defaultdict(_Group)
    for ep in session.scalars(stmt):
        if not ep.summary.strip():
            continue
        keys: list[tuple[SummaryKind, str, str | None]] = [
            (SummaryKind.DAY, ep.started_at.date().isoformat(), None)
        ]
        if ep.session_id is not None:
            keys.append((SummaryKind.SESSION, ep.session_id, ep.session_id))
        for key in keys:
            group = groups[key]
            group.texts.append(ep.summary)
            group.sources.add(("episode", ep.id))
            group.occurred_at = ep.ended_at
            if group.latest_change is None or ep.updated_at > group.latest_change:
                group.latest_change = ep.updated_at
    event_rows = session.execute(
        sa.select(t.Event.id, t.Event.episode_id).where(
            scope_clause(t.Event, namespace_id, owner), t.Event.episode_id.is_not(None)
        )
    )
    by_episode: dict[int, list[int]] = defaultdict(list)
    for event_id, episode_id in event_rows:
        if episode_id is not None:
            by_episode[int(episode_id)].append(int(event_id))
    for ep in session.scalars(stmt):
        candidates: list[tuple[SummaryKind, str, str | None]] = [
            (SummaryKind.DAY, ep.started_at.date().isoformat(), None),
            (SummaryKind.SESSION, ep.session_id or "", ep.session_id),
        ]
        for key in candidates:
            if key in groups:
                groups[key].event_ids.extend(by_episode.get(ep.id, []))
    return dict(groups)


def _profile_group(session: Session, namespace_id: int, owner: Scope) -> _Group:
    stmt = (
        sa.select(t.Fact)
        .where(scope_clause(t.Fact, namespace_id, owner), t.Fact.status == FactStatus.ACTIVE.value)
        .order_by(t.Fact.importance.desc(), t.Fact.valid_from.desc())
        .limit(_PROFILE_FACTS)
    )
    group = _Group()
    latest = session.scalar(
        sa.select(sa.func.max(t.Fact.updated_at)).where(scope_clause(t.Fact, namespace_id, owner))
    )
    for fact in session.scalars(stmt):
        group.texts.append(fact.text)
        group.sources.add(("fact", fact.id))
        group.event_ids.extend(fact.source_event_ids or [])
        if group.occurred_at is None or fact.valid_from > group.occurred_at:
            group.occurred_at = fact.valid_from
    if latest is not None:
        group.latest_change = t.UTCDateTime().process_result_value(
            latest, session.get_bind().dialect
        )
    return group


def _existing(
    session: Session, namespace_id: int, owner_key: str
) -> dict[tuple[SummaryKind, str], datetime]:
    stmt = sa.select(t.Summary.kind, t.Summary.key, t.Summary.updated_at).where(
        t.Summary.namespace_id == namespace_id, t.Summary.owner_key == owner_key
    )
    return {(SummaryKind(kind), key): updated for kind, key, updated in session.execute(stmt)}


def _upsert(
    session: Session,
    *,
    namespace_id: int,
    owner: Scope,
    owner_key: str,
    kind: SummaryKind,
    key: str,
    session_id: str | None,
    content: str,
    group: _Group,
    now: datetime,
) -> int:
    row = session.scalar(
        sa.select(t.Summary).where(
            t.Summary.namespace_id == namespace_id,
            t.Summary.owner_key == owner_key,
            t.Summary.kind == kind.value,
            t.Summary.key == key,
        )
    )
    if row is None:
        row = t.Summary(
            namespace_id=namespace_id,
            **owner.as_dict(),
            owner_key=owner_key,
            kind=kind.value,
            key=key,
            created_at=now,
        )
        session.add(row)
    row.session_id = session_id
    row.content = content
    row.source_event_ids = sorted(set(group.event_ids))
    row.occurred_at = group.occurred_at or now
    row.updated_at = now
    session.flush()
    lineage.set_sources(session, namespace_id, ("summary", int(row.id)), group.sources)
    return int(row.id)
