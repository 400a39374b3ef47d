"""What the indexes see of a memory: its searchable text and its filter tags.

One place decides how a stored row becomes a document, so the dense index, the BM25 index, the
embedding cache and ``index verify`` always agree.
"""

from __future__ import annotations

from memsvc.index.base import IndexTags
from memsvc.store import tables as t
from memsvc.store.records import ORMMemory, content_of
from memsvc.types import FactStatus

__all__ = ["index_tags", "index_text"]


def index_text(row: ORMMemory) -> str:
    """The text that is embedded and keyword-indexed for a memory row."""
    if isinstance(row, t.Event):
        caption = (row.meta or {}).get("caption")
        text = row.content if not caption else f"{row.content} [image: {caption}]"
        return f"{row.speaker}: {text}" if row.speaker else text
    if isinstance(row, t.TreeNode) and (row.fact_id is not None or row.episode_id is not None):
        # A leaf repeats a fact or an episode summary that is indexed in its own right;
        # only the aggregated inner nodes add something searchable.
        return ""
    return content_of(row)


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
