"""Export and import of a namespace (or one scope) as JSON Lines: lossless and streaming.

An export is a header line, then every row of the memory tables in dependency order
(episodes, events, facts, summaries, tree nodes, history), then a footer with the counts::

    {"type": "header", "format": "memsvc.export", "version": 1, "ranges": {"fact": [1, 90, 88]...}}
    {"type": "episode", "id": 3, "user_id": "alice", "started_at": "2023-05-08T13:56:00+00:00", ...}
    ...
    {"type": "footer", "counts": {"episode": 12, "event": 340, ...}}

Every column is written (ids, all times, validity, status, strength, provenance, metadata) and
read back as is, so export → erase → import → export gives the same lines. Rows are streamed
from one read transaction and inserted in chunks, so neither side holds the data in memory.

Import keeps the original ids of a kind when the target database holds none in the exported
id range (the header's ``ranges``); otherwise that kind's ids are shifted by one offset past the
largest existing id, and every reference to them (foreign keys, ``source_event_ids``, history's
``memory_id``) is shifted the same way. A foreign key whose target is not in the database after
the shift (a scope export that references another scope's episode) is set to null. The
imported memories are written to the change log, so the indexes catch up on the next
``IndexSync.catch_up``. The whole import is one transaction: a failure imports nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.errors import AlreadyExists, InvalidInput
from memsvc.store import change_log
from memsvc.store import tables as t
from memsvc.store.db import SQLITE_BEGIN_OPTION
from memsvc.store.memories import scope_clause
from memsvc.store.records import MODEL_BY_KIND, ORMMemory
from memsvc.types import MemoryKind, Scope

__all__ = [
    "FORMAT",
    "VERSION",
    "ChatBatch",
    "ImportReport",
    "export_records",
    "import_records",
    "iter_chat_batches",
    "read_jsonl",
]

logger = logging.getLogger(__name__)

FORMAT = "memsvc.export"
VERSION = 1
_CHUNK = 500
_HISTORY = "history"

#: Record types in the order rows must be inserted (foreign keys point backwards).
_TABLES: dict[str, sa.Table] = {
    name: t.metadata.tables[name]
    for name in ("episode", "event", "fact", "summary", "tree_node", _HISTORY)
}
_MODELS: dict[str, type[ORMMemory]] = {kind.value: model for kind, model in MODEL_BY_KIND.items()}
#: Foreign keys to rows inserted earlier: column -> the kind it points at.
_FOREIGN: dict[str, dict[str, str]] = {
    "event": {"episode_id": "episode"},
    "fact": {"episode_id": "episode"},
    "tree_node": {"fact_id": "fact", "episode_id": "episode"},
}
#: Self references, set after the whole kind is in (the target may come later).
_SELF: dict[str, str] = {"fact": "superseded_by", "tree_node": "parent_id"}
#: Columns holding lists of event ids (provenance).
_EVENT_LISTS: dict[str, str] = {
    "fact": "source_event_ids",
    "summary": "source_event_ids",
    "tree_node": "source_event_ids",
}


OnConflict = Literal["error", "skip", "replace"]
"""What an import does with rows that exist already (see :func:`import_records`)."""


@dataclass
class ImportReport:
    """What an import inserted: rows per record type, and the id offset applied per type."""

    counts: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    nulled_references: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    replaced: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows inserted."""
        return sum(self.counts.values())


def export_records(
    begin: Callable[[], AbstractContextManager[Session]],
    *,
    namespace_id: int,
    namespace: str,
    now: datetime,
    scope: Scope | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the export of a namespace (or of one scope) as JSON-able dicts, header first.

    The rows come from one read transaction, so the export is a consistent snapshot.
    """
    with begin() as session:
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "DEFERRED"})
        where = {kind: _where(kind, namespace_id, scope) for kind in _TABLES}
        ranges = {kind: _range(session, _TABLES[kind], where[kind]) for kind in _TABLES}
        yield {
            "type": "header",
            "format": FORMAT,
            "version": VERSION,
            "namespace": namespace,
            "scope": scope.as_dict() if scope is not None else None,
            "exported_at": now.isoformat(),
            "ranges": {k: v for k, v in ranges.items() if v is not None},
        }
        counts: dict[str, int] = {}
        for kind, table in _TABLES.items():
            stmt = sa.select(table).where(where[kind]).order_by(table.c.id)
            n = 0
            for row in session.execute(stmt, execution_options={"yield_per": 1_000}):
                yield _encode(kind, table, row._mapping)
                n += 1
            counts[kind] = n
        yield {"type": "footer", "counts": counts}


def import_records(
    begin: Callable[[], AbstractContextManager[Session]],
    *,
    namespace_id: int,
    records: Iterable[Mapping[str, Any]],
    now: datetime,
    on_conflict: OnConflict = "error",
) -> ImportReport:
    """Insert an export (as written by :func:`export_records`) into ``namespace_id``.

    Args:
        on_conflict: ``"error"`` shifts taken ids (a copy) and fails with
            :class:`AlreadyExists` when a row collides with one that is there (an export
            imported twice); ``"skip"`` keeps the ids and leaves rows whose id is taken as they
            are; ``"replace"`` keeps the ids and overwrites those rows.

    Raises:
        InvalidInput: not an export, an unknown record type or column, records out of order,
            or a footer whose counts disagree (a truncated file); nothing is imported then.
        AlreadyExists: with ``on_conflict="error"``, rows that exist already.
    """
    if on_conflict not in ("error", "skip", "replace"):
        raise InvalidInput("on_conflict must be error, skip or replace")
    stream = iter(records)
    header = next(stream, None)
    if header is None or header.get("type") != "header" or header.get("format") != FORMAT:
        raise InvalidInput("not a memsvc export: the first line must be its header")
    if header.get("version") != VERSION:
        raise InvalidInput(f"unsupported export version {header.get('version')!r}")
    with begin() as session:
        loader = _Loader(session, namespace_id=namespace_id, now=now, on_conflict=on_conflict)
        loader.plan_offsets(header.get("ranges") or {})
        footer: Mapping[str, Any] | None = None
        for record in stream:
            if footer is not None:
                raise InvalidInput("records after the footer")
            if record.get("type") == "footer":
                footer = record
                continue
            loader.add(record)
        loader.finish()
        if footer is None:
            raise InvalidInput("the export has no footer: the file is truncated")
        expected = {k: int(v) for k, v in (footer.get("counts") or {}).items() if int(v)}
        seen = {
            k: loader.report.counts.get(k, 0) + loader.report.skipped.get(k, 0)
            for k in {*loader.report.counts, *loader.report.skipped}
        }
        if expected != {k: v for k, v in seen.items() if v}:
            raise InvalidInput("the export's footer counts disagree with its rows")
    logger.info("imported %d rows into namespace %d", loader.report.total, namespace_id)
    return loader.report


def _where(kind: str, namespace_id: int, scope: Scope | None) -> sa.ColumnElement[bool]:
    if kind != _HISTORY:
        if scope is None:
            return _TABLES[kind].c.namespace_id == namespace_id
        return scope_clause(_MODELS[kind], namespace_id, scope)
    history = _TABLES[_HISTORY].c
    if scope is None:
        return history.namespace_id == namespace_id
    parts = [
        sa.and_(
            history.memory_kind == kind_name,
            history.memory_id.in_(
                sa.select(model.id).where(scope_clause(model, namespace_id, scope))
            ),
        )
        for kind_name, model in _MODELS.items()
    ]
    return sa.and_(history.namespace_id == namespace_id, sa.or_(*parts))


def _range(session: Session, table: sa.Table, where: sa.ColumnElement[bool]) -> list[int] | None:
    low, high, n = session.execute(
        sa.select(sa.func.min(table.c.id), sa.func.max(table.c.id), sa.func.count()).where(where)
    ).one()
    return None if not n else [int(low), int(high), int(n)]


def _encode(kind: str, table: sa.Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    for column in table.columns:
        if column.name == "namespace_id":
            continue
        value = row[column.name]
        out[column.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


class _Loader:
    """Inserts records in chunks of one type, remapping ids, inside the caller's transaction."""

    def __init__(
        self, session: Session, *, namespace_id: int, now: datetime, on_conflict: OnConflict
    ) -> None:
        self._on_conflict = on_conflict
        self._session = session
        self._namespace_id = namespace_id
        self._now = now
        self._kind: str | None = None
        self._done: list[str] = []
        self._chunk: list[dict[str, Any]] = []
        self._self_refs: dict[str, list[tuple[int, int]]] = {}
        self.report = ImportReport()

    def plan_offsets(self, ranges: Mapping[str, Any]) -> None:
        """Keep each kind's ids when free in the target, else shift them past its largest id."""
        for kind, table in _TABLES.items():
            offset = 0
            found = ranges.get(kind)
            if found and self._on_conflict == "error":
                low, high = int(found[0]), int(found[1])
                taken = self._session.scalar(
                    sa.select(sa.func.count()).where(table.c.id.between(low, high))
                )
                if taken:
                    top = int(self._session.scalar(sa.select(sa.func.max(table.c.id))) or 0)
                    offset = top - low + 1
            self.report.offsets[kind] = offset

    def add(self, record: Mapping[str, Any]) -> None:
        """Buffer one record; records of one type must be contiguous, in export order."""
        kind = record.get("type")
        if not isinstance(kind, str) or kind not in _TABLES:
            raise InvalidInput(f"unknown record type {kind!r}")
        if kind != self._kind:
            if kind in self._done or (self._kind and _rank(kind) < _rank(self._kind)):
                raise InvalidInput(f"{kind} records out of order; write them as export does")
            self._flush()
            if self._kind is not None:
                self._done.append(self._kind)
            self._kind = kind
        self._chunk.append(self._decode(kind, record))
        if len(self._chunk) >= _CHUNK:
            self._flush()

    def finish(self) -> None:
        """Flush, set the deferred self references, and move PostgreSQL sequences on."""
        self._flush()
        for kind, pairs in self._self_refs.items():
            self._set_self_refs(kind, pairs)
        if self._session.get_bind().dialect.name == "postgresql":
            for kind, n in self.report.counts.items():
                if n:
                    name = _TABLES[kind].name  # one of our own table names, not input
                    self._session.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )

    def _decode(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        table = _TABLES[kind]
        row: dict[str, Any] = {"namespace_id": self._namespace_id}
        for name, value in record.items():
            if name == "type":
                continue
            column = table.c.get(name)
            if column is None or name == "namespace_id":
                raise InvalidInput(f"unknown column {name!r} in a {kind} record")
            if isinstance(column.type, t.UTCDateTime) and isinstance(value, str):
                try:
                    value = datetime.fromisoformat(value)
                except ValueError:
                    raise InvalidInput(f"{kind}.{name} is not an ISO time") from None
            row[name] = value
        if not isinstance(row.get("id"), int):
            raise InvalidInput(f"a {kind} record has no integer id")
        return self._remap(kind, row)

    def _remap(self, kind: str, row: dict[str, Any]) -> dict[str, Any]:
        offsets = self.report.offsets
        row["id"] += offsets.get(kind, 0)
        if kind == _HISTORY:
            target = str(row.get("memory_kind"))
            if target not in _MODELS:
                raise InvalidInput(f"history of unknown memory kind {target!r}")
            row["memory_id"] = int(row["memory_id"]) + offsets.get(target, 0)
            return row
        lists = _EVENT_LISTS.get(kind)
        if lists and row.get(lists):
            row[lists] = [int(i) + offsets.get("event", 0) for i in row[lists]]
        for column, target in _FOREIGN.get(kind, {}).items():
            if row.get(column) is not None:
                row[column] = int(row[column]) + offsets.get(target, 0)
        self_column = _SELF.get(kind)
        if self_column and row.get(self_column) is not None:
            self._self_refs.setdefault(kind, []).append(
                (row["id"], int(row[self_column]) + offsets[kind])
            )
            row[self_column] = None
        return row

    def _flush(self) -> None:
        if not self._chunk or self._kind is None:
            return
        kind, rows = self._kind, self._chunk
        self._chunk = []
        for column, target in _FOREIGN.get(kind, {}).items():
            self._null_missing(rows, column, target)
        table = _TABLES[kind]
        statement: Any = sa.insert(table)
        if self._on_conflict != "error":
            ids = [r["id"] for r in rows]
            taken = set(self._session.scalars(sa.select(table.c.id).where(table.c.id.in_(ids))))
            if self._on_conflict == "skip":
                rows = [r for r in rows if r["id"] not in taken]
                self.report.skipped[kind] = self.report.skipped.get(kind, 0) + len(taken)
            else:
                self.report.replaced[kind] = self.report.replaced.get(kind, 0) + len(taken)
                statement = _upsert(self._session, table, rows)
            if not rows:
                return
        try:
            self._session.execute(statement, rows)
        except sa.exc.IntegrityError as exc:
            raise AlreadyExists(
                f"{kind} rows of this export exist already in the namespace (imported before?): "
                "import with --on-conflict skip (keep them) or replace (overwrite them)",
                detail={"kind": kind},
            ) from exc
        if kind in _MODELS:
            change_log.append(
                self._session,
                namespace_id=self._namespace_id,
                kind=MemoryKind(kind),
                memory_ids=[r["id"] for r in rows],
                op="upsert",
                now=self._now,
            )
        self.report.counts[kind] = self.report.counts.get(kind, 0) + len(rows)

    def _null_missing(self, rows: list[dict[str, Any]], column: str, target: str) -> None:
        wanted = {r[column] for r in rows if r.get(column) is not None}
        if not wanted:
            return
        table = _TABLES[target]
        present = set(self._session.scalars(sa.select(table.c.id).where(table.c.id.in_(wanted))))
        for r in rows:
            if r.get(column) is not None and r[column] not in present:
                r[column] = None
                self.report.nulled_references += 1

    def _set_self_refs(self, kind: str, pairs: list[tuple[int, int]]) -> None:
        table = _TABLES[kind]
        column = _SELF[kind]
        for start in range(0, len(pairs), _CHUNK):
            chunk = pairs[start : start + _CHUNK]
            present = set(
                self._session.scalars(
                    sa.select(table.c.id).where(table.c.id.in_({r for _, r in chunk}))
                )
            )
            for row_id, ref in chunk:
                if ref not in present:
                    self.report.nulled_references += 1
                    continue
                self._session.execute(
                    sa.update(table).where(table.c.id == row_id).values({column: ref})
                )


def _upsert(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> Any:
    """INSERT ... ON CONFLICT (id) DO UPDATE of every column the rows carry (SQLite and
    PostgreSQL spell it the same way in SQLAlchemy)."""
    from sqlalchemy.dialects import postgresql, sqlite

    is_pg = session.get_bind().dialect.name == "postgresql"
    statement: Any = postgresql.insert(table) if is_pg else sqlite.insert(table)
    columns = {name for row in rows for name in row} - {"id"}
    return statement.on_conflict_do_update(
        index_elements=[table.c.id], set_={name: statement.excluded[name] for name in columns}
    )


def _rank(kind: str) -> int:
    return list(_TABLES).index(kind)


def read_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of JSON Lines.

    Raises:
        InvalidInput: a line is not a JSON object (the message names the line).
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise InvalidInput(f"line {number}: expected a JSON object")
        yield number, value


@dataclass(frozen=True)
class ChatBatch:
    """Consecutive chat lines of one scope, time and metadata: one ``add`` call."""

    scope: dict[str, str | None]
    occurred_at: str | None
    metadata: dict[str, Any] | None
    messages: list[dict[str, Any]]
    first_line: int


_CHAT_SCOPE = ("user_id", "agent_id", "session_id")
_CHAT_KEYS = frozenset({*_CHAT_SCOPE, "role", "name", "content", "occurred_at", "metadata", "ref"})


def iter_chat_batches(
    lines: Iterable[tuple[int, Mapping[str, Any]]], *, max_batch: int
) -> Iterator[ChatBatch]:
    """Group chat-history lines ``{user_id, role, name, content, occurred_at}`` into batches.

    Lines may also carry ``agent_id``, ``session_id``, ``metadata`` (a JSON object) and ``ref``
    (the client's own id, stored as ``metadata["ref"]`` and echoed in search provenance).
    Consecutive lines with the same scope, time and metadata share one batch, up to
    ``max_batch`` messages, so their order is kept and each keeps its original timestamp.

    Raises:
        InvalidInput: a line with an unknown key or without string content (names the line).
    """
    pending: ChatBatch | None = None
    for number, line in lines:
        unknown = set(line) - _CHAT_KEYS
        if unknown:
            raise InvalidInput(f"line {number}: unknown key(s) {sorted(unknown)}")
        content = line.get("content")
        if not isinstance(content, str):
            raise InvalidInput(f"line {number}: 'content' must be a string")
        metadata = line.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInput(f"line {number}: 'metadata' must be a JSON object")
        if line.get("ref") is not None:
            metadata = {**(metadata or {}), "ref": str(line["ref"])}
        scope = {key: line.get(key) for key in _CHAT_SCOPE}
        when = line.get("occurred_at")
        message = {"role": line.get("role") or "user", "content": content, "name": line.get("name")}
        if (
            pending is not None
            and pending.scope == scope
            and pending.occurred_at == when
            and pending.metadata == metadata
            and len(pending.messages) < max_batch
        ):
            pending.messages.append(message)
            continue
        if pending is not None:
            yield pending
        pending = ChatBatch(scope, when, metadata, [message], number)
    if pending is not None:
        yield pending
