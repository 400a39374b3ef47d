"""Repository functions over the memory tables. They take a Session and never commit."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.errors import MemoryNotFound
from memsvc.store import tables as t
from memsvc.store.records import MODEL_BY_KIND, ORMMemory, record_from, to_record
from memsvc.types import FactStatus, MemoryKind, MemoryRecord, MemoryRef, Scope

__all__ = [
    "LIST_ORDER",
    "count_by_kind",
    "delete_rows",
    "event_neighbours",
    "get_records",
    "get_row",
    "get_rows",
    "insert_events",
    "latest_event_time",
    "list_records",
    "profile_row",
    "scope_clause",
    "scope_ids",
    "tree_rows",
]

#: The order in which get_all walks the kinds.
LIST_ORDER = (
    MemoryKind.FACT,
    MemoryKind.EVENT,
    MemoryKind.EPISODE,
    MemoryKind.SUMMARY,
    MemoryKind.TREE_NODE,
)


def scope_clause(model: type[ORMMemory], namespace_id: int, scope: Scope) -> sa.ColumnElement[bool]:
    """WHERE clause: the namespace, and every scope key that is set."""
    clauses = [model.namespace_id == namespace_id]
    for name, value in scope.as_dict().items():
        clauses.append(getattr(model, name) == value)
    return sa.and_(*clauses)


def insert_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert events in one statement; returns their ids in input order."""
    if not rows:
        return []
    result = session.execute(
        sa.insert(t.Event).returning(t.Event.id, sort_by_parameter_order=True), list(rows)
    )
    return [int(r[0]) for r in result]


def get_row(session: Session, namespace_id: int, ref: MemoryRef) -> ORMMemory:
    """The row of a memory in this namespace.

    Raises:
        MemoryNotFound: no such memory here (also for another namespace's memory).
    """
    model = MODEL_BY_KIND[ref.kind]
    row = cast("ORMMemory | None", session.get(model, ref.id))
    if row is None or row.namespace_id != namespace_id:
        raise MemoryNotFound("no memory with this id", detail={"id": str(ref)})
    return row


def get_rows(
    session: Session, namespace_id: int, kind: MemoryKind, ids: Iterable[int]
) -> dict[int, ORMMemory]:
    """Rows by id (missing ones are absent from the result)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = _BY_IDS[kind]
    out: dict[int, ORMMemory] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in session.scalars(stmt, {"ids": chunk}):
            memory = cast("ORMMemory", row)
            if memory.namespace_id == namespace_id:
                out[memory.id] = memory
    return out


# By primary key only: with the namespace in the WHERE clause SQLite chose a scope index and
# read the whole namespace (21 ms at 100k events instead of 0.1 ms). Built once, with an
# expanding IN: loading 60 events at 100k took 0.78 ms against 0.94 ms with the statement built
# per call, and the search path loads rows several times per query.
_BY_IDS = {
    kind: sa.select(model).where(model.id.in_(sa.bindparam("ids", expanding=True)))
    for kind, model in MODEL_BY_KIND.items()
}


def get_records(
    session: Session, namespace_id: int, kind: MemoryKind, ids: Iterable[int]
) -> dict[int, MemoryRecord]:
    """Records by id, read as plain rows (missing ones are absent from the result).

    What the read path uses: the same records as ``to_record(get_rows(...))`` without the
    ORM's identity map and instrumentation (80 random events of 100k: 1.66 ms against 1.88 ms,
    best of three passes over 300 sets; ``benchmarks/read_path_parts.py``).
    """
    wanted = sorted(set(ids))
    out: dict[int, MemoryRecord] = {}
    stmt = _COLUMNS_BY_IDS[kind]
    for start in range(0, len(wanted), 500):
        for row in session.execute(stmt, {"ids": wanted[start : start + 500]}):
            if row.namespace_id == namespace_id:
                out[row.id] = record_from(kind, row)
    return out


def _columns_by_ids(model: type[ORMMemory]) -> sa.Select[Any]:
    """Every mapped column, labelled with its attribute name (``meta``, not ``metadata``)."""
    columns = [attr.columns[0].label(attr.key) for attr in model.__mapper__.column_attrs]
    return sa.select(*columns).where(model.__table__.c.id.in_(sa.bindparam("ids", expanding=True)))


_COLUMNS_BY_IDS = {kind: _columns_by_ids(model) for kind, model in MODEL_BY_KIND.items()}


def list_records(
    session: Session,
    namespace_id: int,
    scope: Scope,
    *,
    kinds: Sequence[MemoryKind],
    include_inactive: bool,
    after: tuple[int, int] | None,
    limit: int,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[list[MemoryRecord], tuple[int, int] | None]:
    """A page of memories, kinds in :data:`LIST_ORDER`, newest id first within a kind.

    ``after`` is the cursor ``(kind position, last id)`` returned by the previous page.
    """
    ordered = [k for k in LIST_ORDER if k in kinds]
    out: list[MemoryRecord] = []
    start_pos, last_id = after if after is not None else (0, None)
    for pos in range(start_pos, len(ordered)):
        kind = ordered[pos]
        model = MODEL_BY_KIND[kind]
        stmt = sa.select(model).where(scope_clause(model, namespace_id, scope))
        if pos == start_pos and last_id is not None:
            stmt = stmt.where(model.id < last_id)
        if kind is MemoryKind.FACT and not include_inactive:
            stmt = stmt.where(t.Fact.status == FactStatus.ACTIVE.value)
        if metadata and kind in (MemoryKind.EVENT, MemoryKind.FACT):
            stmt = stmt.where(*_metadata_clauses(model, metadata))
        elif metadata:
            continue
        stmt = stmt.order_by(model.id.desc()).limit(limit - len(out) + 1)
        rows = list(session.scalars(stmt))
        for row in rows:
            if len(out) == limit:
                return out, (pos, out[-1].ref.id)
            out.append(to_record(cast("ORMMemory", row)))
    return out, None


def _metadata_clauses(
    model: type[ORMMemory], metadata: Mapping[str, Any]
) -> list[sa.ColumnElement[bool]]:
    column = model.__table__.c.metadata
    clauses: list[sa.ColumnElement[bool]] = []
    for key, value in metadata.items():
        element = column[key]
        if isinstance(value, bool):
            clauses.append(element.as_boolean() == value)
        elif isinstance(value, int | float):
            clauses.append(element.as_float() == float(value))
        else:
            clauses.append(element.as_string() == str(value))
    return clauses


def delete_rows(session: Session, namespace_id: int, kind: MemoryKind, ids: Sequence[int]) -> int:
    """Delete rows of one kind; returns how many were deleted."""
    if not ids:
        return 0
    model = MODEL_BY_KIND[kind]
    total = 0
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        result = session.execute(
            sa.delete(model).where(model.namespace_id == namespace_id, model.id.in_(chunk))
        )
        total += int(getattr(result, "rowcount", 0) or 0)
    return total


def scope_ids(session: Session, namespace_id: int, scope: Scope, kind: MemoryKind) -> list[int]:
    """Every id of one kind in a scope."""
    model = MODEL_BY_KIND[kind]
    stmt = sa.select(model.id).where(scope_clause(model, namespace_id, scope))
    return [int(i) for i in session.scalars(stmt)]


def event_neighbours(
    session: Session,
    namespace_id: int,
    events: Sequence[MemoryRecord],
    *,
    before: int,
    after: int,
) -> dict[int, tuple[list[int], list[int]]]:
    """The events told just before and after each of ``events``, in one query.

    An event's neighbourhood is its own conversation (equal user, agent and session), ordered by
    event time, then id: one UNION ALL of two ordered, limited selects per event.

    Returns:
        ``{event id: (ids before it, ids after it)}``, both in time order.
    """
    out: dict[int, tuple[list[int], list[int]]] = {e.ref.id: ([], []) for e in events}
    if not events or (before <= 0 and after <= 0):
        return out
    shape = tuple(tuple(getattr(e.scope, name) is None for name in _SCOPE_NAMES) for e in events)
    params: dict[str, Any] = {"ns": namespace_id}
    for i, event in enumerate(events):
        params[f"a{i}"] = event.ref.id
        params[f"t{i}"] = event.occurred_at
        for name in _SCOPE_NAMES:
            if (value := getattr(event.scope, name)) is not None:
                params[f"{name}{i}"] = value
    found: dict[tuple[int, int], list[tuple[Any, int]]] = {}
    for anchor, side, event_id, at in session.execute(
        _neighbours_statement(shape, before, after), params
    ):
        found.setdefault((int(anchor), int(side)), []).append((at, int(event_id)))
    for (anchor, side), items in found.items():
        out[anchor][0 if side < 0 else 1].extend(i for _, i in sorted(items))
    return out


_SCOPE_NAMES = ("user_id", "agent_id", "session_id")


@functools.lru_cache(maxsize=256)
def _neighbours_statement(
    shape: tuple[tuple[bool, ...], ...], before: int, after: int
) -> sa.CompoundSelect[Any]:
    """The UNION ALL of :func:`event_neighbours` for anchors whose scope keys are null as in
    ``shape``, with bound parameters: built and compiled once per shape rather than per search
    (5 anchors at 100k events: 0.97 ms a call against 2.74 ms with the statement rebuilt;
    ``benchmarks/read_path_parts.py``)."""
    model = t.Event
    parts = []
    for i, nulls in enumerate(shape):
        same = [model.namespace_id == sa.bindparam("ns")]
        for name, is_null in zip(_SCOPE_NAMES, nulls, strict=True):
            column = getattr(model, name)
            same.append(column.is_(None) if is_null else column == sa.bindparam(f"{name}{i}"))
        when: sa.BindParameter[Any] = sa.bindparam(f"t{i}")
        event_id = sa.bindparam(f"a{i}", type_=sa.Integer)
        # Plain range conditions on occurred_at (not a row-value comparison) let SQLite walk the
        # (namespace, user|session, occurred_at) index and stop after `before`/`after` rows.
        sides = (
            (
                -1,
                before,
                sa.and_(
                    model.occurred_at <= when,
                    sa.or_(model.occurred_at < when, model.id < event_id),
                ),
                (model.occurred_at.desc(), model.id.desc()),
            ),
            (
                1,
                after,
                sa.and_(
                    model.occurred_at >= when,
                    sa.or_(model.occurred_at > when, model.id > event_id),
                ),
                (model.occurred_at, model.id),
            ),
        )
        for side, limit, condition, order in sides:
            if limit <= 0:
                continue
            select = (
                sa.select(
                    event_id.label("anchor"),
                    sa.literal(side).label("side"),
                    model.id.label("id"),
                    model.occurred_at.label("at"),
                )
                .where(*same, condition)
                .order_by(*order)
                .limit(limit)
            )
            parts.append(select.subquery().select())
    return sa.union_all(*parts)


def latest_event_time(session: Session, namespace_id: int, scope: Scope) -> datetime | None:
    """The latest occurred_at among the scope's events (the "now" of relative time expressions)."""
    stmt = sa.select(sa.func.max(t.Event.occurred_at)).where(
        scope_clause(t.Event, namespace_id, scope)
    )
    value = session.scalar(stmt)
    if value is None:
        return None
    return t.UTCDateTime().process_result_value(value, session.get_bind().dialect)


def tree_rows(session: Session, namespace_id: int, scope: Scope) -> list[t.TreeNode]:
    """Every MemTree node of a scope."""
    stmt = sa.select(t.TreeNode).where(scope_clause(t.TreeNode, namespace_id, scope))
    return list(session.scalars(stmt.order_by(t.TreeNode.depth, t.TreeNode.id)))


def profile_row(session: Session, namespace_id: int, scope: Scope) -> t.Summary | None:
    """The newest profile summary of a scope."""
    stmt = (
        sa.select(t.Summary)
        .where(scope_clause(t.Summary, namespace_id, scope), t.Summary.kind == "profile")
        .order_by(t.Summary.updated_at.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def count_by_kind(session: Session, namespace_id: int) -> dict[str, int]:
    """Rows per memory kind in a namespace (facts split by status)."""
    out: dict[str, int] = {}
    for kind, model in MODEL_BY_KIND.items():
        if kind is MemoryKind.FACT:
            stmt = (
                sa.select(t.Fact.status, sa.func.count())
                .where(t.Fact.namespace_id == namespace_id)
                .group_by(t.Fact.status)
            )
            for status, n in session.execute(stmt):
                out[f"fact_{status}"] = int(n)
            continue
        total = session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.namespace_id == namespace_id)
        )
        out[kind.value] = int(total or 0)
    return out
