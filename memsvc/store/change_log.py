"""The change log: a numbered record of index-relevant changes, tailed by index sync and replicas.

Within a namespace, sequence order is commit order, so a reader that has applied every change
up to ``seq`` never sees a smaller ``seq`` appear later and can simply resume after it:

- on SQLite, writers are serialised by ``BEGIN IMMEDIATE`` (:mod:`memsvc.store.db`);
- on PostgreSQL, :func:`append` takes the namespace's transaction-level advisory lock
  (:func:`memsvc.store.db.lock_namespace_writes`) before drawing numbers, so a later transaction
  of the namespace draws larger numbers only after the earlier one has committed. Call
  :func:`append` late in the unit of work: the lock is held until commit.

Sequence numbers are global, so a namespace's numbers have gaps (other namespaces' rows).

Every function takes a Session and never commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from memsvc.store.db import lock_namespace_writes
from memsvc.store.tables import ChangeLog, IndexReader
from memsvc.types import MemoryKind

__all__ = [
    "TRIM_MARK",
    "ChangeOp",
    "ChangeRow",
    "append",
    "last_seq",
    "report_reader",
    "tail",
    "trim",
    "trim_to_readers",
    "trimmed_before",
]

TRIM_MARK = "#trimmed"
"""The ``index_reader`` row whose ``applied_seq`` is the namespace's trim point."""

ChangeOp = Literal["upsert", "delete"]

_T = cast(sa.Table, ChangeLog.__table__)


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One change: memory ``(memory_kind, memory_id)`` was written (upsert) or removed (delete)."""

    seq: int
    namespace_id: int
    memory_kind: MemoryKind
    memory_id: int
    op: ChangeOp
    created_at: datetime


def append(
    session: Session,
    *,
    namespace_id: int,
    kind: MemoryKind,
    memory_ids: Sequence[int],
    op: ChangeOp,
    now: datetime,
) -> int | None:
    """Record that ``memory_ids`` of ``kind`` changed, in one INSERT statement.

    Returns:
        The largest sequence number written, or ``None`` when ``memory_ids`` is empty.
    """
    if not memory_ids:
        return None
    if op not in ("upsert", "delete"):
        raise ValueError(f"op must be 'upsert' or 'delete', not {op!r}")
    lock_namespace_writes(session, namespace_id)
    values = {"namespace_id": namespace_id, "memory_kind": kind.value, "op": op, "created_at": now}
    ids = [int(memory_id) for memory_id in memory_ids]
    # One INSERT ... SELECT over the ids sent as a single parameter: 3-4x faster than a
    # multi-row VALUES insert for large batches, on both SQLite and PostgreSQL.
    select = sa.select(
        *(sa.literal(value, _T.c[name].type) for name, value in values.items()),
        _id_rows(session.get_bind().dialect.name, ids),
    )
    stmt = sa.insert(_T).from_select([*values, "memory_id"], select).returning(_T.c.seq)
    result = session.execute(stmt)
    return max(int(seq) for seq in result.scalars())


def tail(session: Session, *, namespace_id: int, after_seq: int, limit: int) -> list[ChangeRow]:
    """The namespace's changes with ``seq > after_seq``, oldest first, at most ``limit``."""
    result = session.execute(
        sa.select(_T)
        .where(_T.c.namespace_id == namespace_id, _T.c.seq > after_seq)
        .order_by(_T.c.seq)
        .limit(limit)
    )
    return [_to_change(row) for row in result]


def last_seq(session: Session, namespace_id: int) -> int:
    """The namespace's largest sequence number, 0 when it has none."""
    value = session.execute(
        sa.select(sa.func.max(_T.c.seq)).where(_T.c.namespace_id == namespace_id)
    ).scalar_one()
    return int(value or 0)


def trim(session: Session, *, namespace_id: int, before_seq: int) -> int:
    """Delete the namespace's changes with ``seq < before_seq``, keeping its newest row.

    Call it with the smallest sequence every index snapshot of the namespace has reached. The
    newest row is kept because SQLite (no AUTOINCREMENT) would otherwise reuse its number.
    Returns the number of rows deleted.
    """
    bound = min(before_seq, last_seq(session, namespace_id))
    result = session.execute(
        sa.delete(_T).where(_T.c.namespace_id == namespace_id, _T.c.seq < bound)
    )
    return int(cast("sa.CursorResult[Any]", result).rowcount)


def report_reader(
    session: Session, *, namespace_id: int, reader_id: str, applied_seq: int, now: datetime
) -> None:
    """Record that ``reader_id`` (one process's index cache) has applied up to ``applied_seq``."""
    row = session.get(IndexReader, (namespace_id, reader_id))
    if row is None:
        session.add(
            IndexReader(
                namespace_id=namespace_id, reader_id=reader_id, applied_seq=applied_seq, seen_at=now
            )
        )
    else:
        row.applied_seq = max(row.applied_seq, applied_seq)
        row.seen_at = now


def trimmed_before(session: Session, namespace_id: int) -> int:
    """The namespace's trim point: changes with a smaller ``seq`` may be gone (0: none trimmed)."""
    row = session.get(IndexReader, (namespace_id, TRIM_MARK))
    return int(row.applied_seq) if row is not None else 0


def trim_to_readers(session: Session, *, namespace_id: int, live_after: datetime) -> int:
    """Trim the namespace's log below every live reader (seen after ``live_after``).

    Readers not seen since are forgotten: they no longer hold the log back, and one that comes
    back finds itself behind :func:`trimmed_before` and rebuilds. Returns the rows deleted.
    """
    readers = cast(sa.Table, IndexReader.__table__)
    session.execute(
        sa.delete(readers).where(
            readers.c.namespace_id == namespace_id,
            readers.c.reader_id != TRIM_MARK,
            readers.c.seen_at < live_after,
        )
    )
    bound = session.execute(
        sa.select(sa.func.min(readers.c.applied_seq)).where(
            readers.c.namespace_id == namespace_id, readers.c.reader_id != TRIM_MARK
        )
    ).scalar_one()
    if bound is None:
        return 0
    bound = min(int(bound), last_seq(session, namespace_id))
    deleted = trim(session, namespace_id=namespace_id, before_seq=bound)
    mark = session.get(IndexReader, (namespace_id, TRIM_MARK))
    if mark is None:
        session.add(
            IndexReader(
                namespace_id=namespace_id,
                reader_id=TRIM_MARK,
                applied_seq=bound,
                seen_at=live_after,
            )
        )
    elif mark.applied_seq < bound:
        mark.applied_seq = bound
        mark.seen_at = live_after
    return deleted


def _id_rows(dialect: str, ids: list[int]) -> sa.ColumnElement[Any]:
    """A column with one row per id: ``unnest(array)`` on PostgreSQL, ``json_each`` on SQLite."""
    if dialect == "postgresql":
        array = sa.bindparam("memory_ids", ids, type_=postgresql.ARRAY(sa.BigInteger()))
        return sa.func.unnest(array).column_valued("memory_id")
    return sa.func.json_each(json.dumps(ids)).table_valued("value").c.value


def _to_change(row: sa.Row[Any]) -> ChangeRow:
    return ChangeRow(
        seq=int(row.seq),
        namespace_id=int(row.namespace_id),
        memory_kind=MemoryKind(row.memory_kind),
        memory_id=int(row.memory_id),
        op=cast(ChangeOp, row.op),
        created_at=row.created_at,
    )
