"""Conversion between ORM rows and the uniform :class:`memsvc.types.MemoryRecord`."""

from __future__ import annotations

import functools
from typing import Any

from memsvc.store import tables as t
from memsvc.types import MemoryKind, MemoryRecord, MemoryRef, Scope

__all__ = ["MODEL_BY_KIND", "ORMMemory", "content_of", "record_from", "to_record"]

ORMMemory = t.Event | t.Episode | t.Fact | t.Summary | t.TreeNode

MODEL_BY_KIND: dict[MemoryKind, type[ORMMemory]] = {
    MemoryKind.EVENT: t.Event,
    MemoryKind.EPISODE: t.Episode,
    MemoryKind.FACT: t.Fact,
    MemoryKind.SUMMARY: t.Summary,
    MemoryKind.TREE_NODE: t.TreeNode,
}


_KIND_BY_MODEL: dict[type[ORMMemory], MemoryKind] = {m: k for k, m in MODEL_BY_KIND.items()}


def scope_of(row: Any) -> Scope:
    """The scope columns of a row (tree nodes and profiles may have only a user or agent)."""
    return _scope(row.user_id, row.agent_id, row.session_id)


@functools.lru_cache(maxsize=4096)
def _scope(user_id: str | None, agent_id: str | None, session_id: str | None) -> Scope:
    # Scopes are few and immutable; building one validates its keys, which a search loading
    # ~100 rows paid once per row.
    return Scope(user_id=user_id, agent_id=agent_id, session_id=session_id)


def content_of(row: ORMMemory) -> str:
    """The text of a memory row, whatever its kind."""
    if isinstance(row, t.Event | t.Summary | t.TreeNode):
        return row.content
    if isinstance(row, t.Fact):
        return row.text
    return row.summary


def to_record(row: ORMMemory) -> MemoryRecord:
    """The uniform record of an ORM row."""
    return record_from(_KIND_BY_MODEL[type(row)], row)


def record_from(kind: MemoryKind, row: Any) -> MemoryRecord:
    """The uniform record of a row of ``kind``: an ORM object, or a Core row whose column
    names are the ORM attribute names (what the search path loads, without the ORM's cost)."""
    if kind is MemoryKind.EVENT:
        return MemoryRecord(
            ref=MemoryRef(MemoryKind.EVENT, row.id),
            scope=scope_of(row),
            content=row.content,
            occurred_at=row.occurred_at,
            created_at=row.ingested_at,
            updated_at=row.updated_at,
            role=row.role,
            speaker=row.speaker,
            metadata=dict(row.meta or {}),
            source_event_ids=(row.id,),
            episode_id=row.episode_id,
            attributes=({"outdated_by": f"fact_{row.outdated_by}"} if row.outdated_by else {}),
        )
    if kind is MemoryKind.FACT:
        attrs: dict[str, Any] = {
            "subject": row.subject,
            "predicate": row.predicate,
            "object": row.object,
            "relation": row.relation,
            "value_type": row.value_type,
            "importance": row.importance,
            "strength": row.strength,
            "recall_count": row.recall_count,
            "last_recalled_at": row.last_recalled_at,
            "superseded_by": (f"fact_{row.superseded_by}" if row.superseded_by else None),
        }
        return MemoryRecord(
            ref=MemoryRef(MemoryKind.FACT, row.id),
            scope=scope_of(row),
            content=row.text,
            occurred_at=row.valid_from,
            created_at=row.created_at,
            updated_at=row.updated_at,
            metadata=dict(row.meta or {}),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            status=row.status,
            source_event_ids=tuple(row.source_event_ids or ()),
            episode_id=row.episode_id,
            attributes=attrs,
        )
    if kind is MemoryKind.EPISODE:
        return MemoryRecord(
            ref=MemoryRef(MemoryKind.EPISODE, row.id),
            scope=scope_of(row),
            content=row.summary,
            occurred_at=row.ended_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            episode_id=row.id,
            attributes={
                "started_at": row.started_at,
                "ended_at": row.ended_at,
                "event_count": row.event_count,
                "boundary_reason": row.boundary_reason,
            },
        )
    if kind is MemoryKind.SUMMARY:
        return MemoryRecord(
            ref=MemoryRef(MemoryKind.SUMMARY, row.id),
            scope=scope_of(row),
            content=row.content,
            occurred_at=row.occurred_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            source_event_ids=tuple(row.source_event_ids or ()),
            attributes={"summary_kind": row.kind, "key": row.key},
        )
    return MemoryRecord(
        ref=MemoryRef(MemoryKind.TREE_NODE, row.id),
        scope=scope_of(row),
        content=row.content,
        occurred_at=row.occurred_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        source_event_ids=tuple(row.source_event_ids or ()),
        attributes={
            "parent_id": row.parent_id,
            "depth": row.depth,
            "child_count": row.child_count,
            "entry_count": row.entry_count,
            "fact_id": row.fact_id,
            "episode_id": row.episode_id,
        },
    )
