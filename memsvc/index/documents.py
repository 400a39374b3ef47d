"""What the indexes see of a memory: its searchable text and its filter tags.

One place decides how a stored row becomes a document, so the dense index, the BM25 index, the
embedding cache and ``index verify`` always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memsvc.index.base import IndexTags
from memsvc.store import tables as t
from memsvc.store.records import ORMMemory, content_of
from memsvc.types import FactStatus, MemoryKind, MemoryRecord

__all__ = ["index_tags", "index_text", "record_index_text"]


def index_text(row: ORMMemory) -> str:
    """The text that is embedded and keyword-indexed for a memory row."""
    if isinstance(row, t.Event):
        return _event_text(row.content, row.speaker, row.meta)
    if isinstance(row, t.TreeNode) and (
        row.fact_id is not None or row.episode_id is not None or row.parent_id is None
    ):
        # A leaf repeats a fact or an episode summary that is indexed in its own right, and a
        # root only lists its branches; only the aggregated inner nodes add something
        # searchable.
        return ""
    return content_of(row)


def record_index_text(record: MemoryRecord) -> str:
    """:func:`index_text` of the row behind ``record`` (equal for every kind)."""
    if record.kind is MemoryKind.EVENT:
        return _event_text(record.content, record.speaker, record.metadata)
    attrs = record.attributes
    if record.kind is MemoryKind.TREE_NODE and (
        attrs.get("fact_id") is not None
        or attrs.get("episode_id") is not None
        or attrs.get("parent_id") is None
    ):
        return ""
    return record.content


def _event_text(content: str, speaker: str | None, meta: Mapping[str, Any] | None) -> str:
    caption = (meta or {}).get("caption")
    text = content if not caption else f"{content} [image: {caption}]"
    return f"{speaker}: {text}" if speaker else text


def index_tags(row: ORMMemory) -> IndexTags:
    """Filter tags: scope, whether the memory is current, and its event time."""
    if isinstance(row, t.Fact):
        current = row.status == FactStatus.ACTIVE.value
        when = row.valid_from
    elif isinstance(row, t.Episode):
        current, when = True, row.ended_at
    elif isinstance(row, t.Event | t.Summary | t.TreeNode):
        current, when = True, row.occurred_at
    else:  # pragma: no cover - exhaustive over ORMMemory
        raise TypeError(type(row).__name__)
    return IndexTags(
        user_id=row.user_id,
        agent_id=row.agent_id,
        session_id=row.session_id,
        is_current=current,
        occurred_at=when.timestamp(),
    )
