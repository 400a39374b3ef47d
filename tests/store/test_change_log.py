"""The change log: append, tail in order, commit order equals sequence order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from memsvc.store import change_log
from memsvc.types import MemoryKind

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _append(
    sessions: sessionmaker[Session], ns: int, ids: list[int], op: change_log.ChangeOp = "upsert"
) -> int | None:
    with sessions.begin() as session:
        return change_log.append(
            session, namespace_id=ns, kind=MemoryKind.FACT, memory_ids=ids, op=op, now=T0
        )


def _tail(
    sessions: sessionmaker[Session], ns: int, after: int = 0, limit: int = 100
) -> list[change_log.ChangeRow]:
    with sessions.begin() as session:
        return change_log.tail(session, namespace_id=ns, after_seq=after, limit=limit)


def test_change_log_append_then_tail_returns_changes_in_order(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _append(sessions, namespace_id, [3, 1, 2])
    _append(sessions, namespace_id, [1], op="delete")

    rows = _tail(sessions, namespace_id)

    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    assert sorted(r.memory_id for r in rows[:3]) == [1, 2, 3]  # order inside a batch is free
    assert [(r.memory_id, r.op) for r in rows[3:]] == [(1, "delete")]
    assert {(r.memory_kind, r.namespace_id, r.created_at) for r in rows} == {
        (MemoryKind.FACT, namespace_id, T0)
    }


def test_change_log_append_returns_largest_seq(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    last = _append(sessions, namespace_id, list(range(50)))
    with sessions.begin() as session:
        assert last == change_log.last_seq(session, namespace_id)


def test_change_log_append_nothing_writes_nothing(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    assert _append(sessions, namespace_id, []) is None
    assert _tail(sessions, namespace_id) == []


def test_change_log_tail_resumes_after_seq_with_limit(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _append(sessions, namespace_id, list(range(10)))
    first = _tail(sessions, namespace_id, limit=4)

    rest = _tail(sessions, namespace_id, after=first[-1].seq, limit=100)

    assert len(first) == 4
    assert sorted(r.memory_id for r in first + rest) == list(range(10))


def test_change_log_tail_sees_only_its_namespace(
    sessions: sessionmaker[Session], make_namespace: Callable[[str], int]
) -> None:
    one, two = make_namespace("one"), make_namespace("two")
    _append(sessions, one, [1])
    _append(sessions, two, [2])
    _append(sessions, one, [3])

    assert [r.memory_id for r in _tail(sessions, one)] == [1, 3]
    with sessions.begin() as session:
        last_of_two = change_log.last_seq(session, two)
    assert [r.seq for r in _tail(sessions, two)] == [last_of_two]


def test_change_log_last_seq_is_zero_when_empty(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    with sessions.begin() as session:
        assert change_log.last_seq(session, namespace_id) == 0


def test_change_log_trim_keeps_the_newest_row(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    last = _append(sessions, namespace_id, [1, 2, 3])
    assert last is not None
    with sessions.begin() as session:
        deleted = change_log.trim(session, namespace_id=namespace_id, before_seq=last + 100)

    assert deleted == 2
    assert [r.seq for r in _tail(sessions, namespace_id)] == [last]


def test_change_log_append_rejects_unknown_op(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    with pytest.raises(ValueError, match="op"), sessions.begin() as session:
        change_log.append(
            session,
            namespace_id=namespace_id,
            kind=MemoryKind.EVENT,
            memory_ids=[1],
            op="update",  # type: ignore[arg-type]
            now=T0,
        )


def test_change_log_seq_order_is_commit_order_within_namespace(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    # A slow transaction appends first; a second one appends while the first is still open.
    # A reader resuming after the largest seq it saw must not miss the slow one's row, so the
    # second transaction's row must both commit later and carry the larger seq.
    appended = threading.Event()
    commits: dict[str, tuple[float, int | None]] = {}

    def slow() -> None:
        with sessions.begin() as session:
            seq = change_log.append(
                session,
                namespace_id=namespace_id,
                kind=MemoryKind.EVENT,
                memory_ids=[1],
                op="upsert",
                now=T0,
            )
            appended.set()
            time.sleep(0.3)
        commits["slow"] = (time.monotonic(), seq)

    def fast() -> None:
        appended.wait()
        seq = _append(sessions, namespace_id, [2])
        commits["fast"] = (time.monotonic(), seq)

    threads = [threading.Thread(target=slow), threading.Thread(target=fast)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (slow_at, slow_seq), (fast_at, fast_seq) = commits["slow"], commits["fast"]
    assert slow_seq is not None and fast_seq is not None
    assert slow_at <= fast_at
    assert slow_seq < fast_seq


def test_change_log_append_bulk_writes_every_row(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    last = _append(sessions, namespace_id, list(range(20_000)))

    rows = _tail(sessions, namespace_id, limit=30_000)
    assert sorted(r.memory_id for r in rows) == list(range(20_000))
    assert rows[-1].seq == last
