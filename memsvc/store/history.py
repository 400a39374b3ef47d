"""History rows: every change to a memory (before, after, operation, reason, actor, time)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.store import tables as t
from memsvc.types import MemoryKind, MemoryRef

__all__ = ["erase_history", "list_history", "record_change", "snapshot"]

_SNAPSHOT_FIELDS = (
    "content",
    "text",
    "summary",
    "status",
    "valid_from",
    "valid_to",
    "superseded_by",
    "strength",
    "source_event_ids",
    "subject",
    "predicate",
    "object",
    "relation",
    "value_type",
    "metadata",
    "occurred_at",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def snapshot(row: Any) -> dict[str, Any]:
    """A JSON-safe picture of a memory row for history's before/after columns."""
    out: dict[str, Any] = {}
    for name in _SNAPSHOT_FIELDS:
        attr = "meta" if name == "metadata" else name
        if hasattr(row, attr):
            value = getattr(row, attr)
            out[name] = list(value) if isinstance(value, list | tuple) else _jsonable(value)
    return out


def record_change(
    session: Session,
    *,
    namespace_id: int,
    ref: MemoryRef,
    operation: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str = "",
    actor: str = "system",
    now: datetime,
) -> None:
    """Append one history row."""
    session.add(
        t.History(
            namespace_id=namespace_id,
            memory_kind=ref.kind.value,
            memory_id=ref.id,
            operation=operation,
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
            reason=reason[:2000],
            actor=actor[:64],
            created_at=now,
        )
    )


def list_history(session: Session, namespace_id: int, ref: MemoryRef) -> list[t.History]:
    """The history of one memory, oldest first."""
    stmt = (
        sa.select(t.History)
        .where(
            t.History.namespace_id == namespace_id,
            t.History.memory_kind == ref.kind.value,
            t.History.memory_id == ref.id,
        )
        .order_by(t.History.id)
    )
    return list(session.scalars(stmt))


def erase_history(session: Session, namespace_id: int, kind: MemoryKind, ids: Sequence[int]) -> int:
    """Delete the history of memories (erasure on request)."""
    total = 0
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        result = session.execute(
            sa.delete(t.History).where(
                t.History.namespace_id == namespace_id,
                t.History.memory_kind == kind.value,
                t.History.memory_id.in_(chunk),
            )
        )
        total += int(getattr(result, "rowcount", 0) or 0)
    return total
