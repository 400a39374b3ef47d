"""Idempotent adds, and an add whose COMMIT lost its connection, on real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from memsvc.errors import IdempotencyConflict, InvalidInput, OutcomeUnknown
from memsvc.memory import Memory
from memsvc.service.facade import MemoryService
from memsvc.store import tables as t
from memsvc.types import Scope

ALICE = Scope(user_id="alice")


def _event_count(service: MemoryService) -> int:
    with service.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(t.Event)) or 0)


def test_a_repeated_key_returns_the_first_reply_and_stores_nothing(service: MemoryService) -> None:
    first = service.add("I water the plants on Sundays", scope=ALICE, idempotency_key="k-1")
    again = service.add("I water the plants on Sundays", scope=ALICE, idempotency_key="k-1")
    assert [e.ref for e in again.events] == [e.ref for e in first.events]
    assert again.job_id == first.job_id
    assert _event_count(service) == 1
    hits = service.search("plants", scope=ALICE).hits
    assert len([h for h in hits if h.record.kind.value == "event"]) == 1


def test_a_key_reused_for_another_request_is_refused(service: MemoryService) -> None:
    service.add("first text", scope=ALICE, idempotency_key="k-2")
    with pytest.raises(IdempotencyConflict):
        service.add("another text", scope=ALICE, idempotency_key="k-2")
    with pytest.raises(IdempotencyConflict):
        service.add("first text", scope=Scope(user_id="bob"), idempotency_key="k-2")
    assert _event_count(service) == 1
    with pytest.raises(InvalidInput):
        service.add("x", scope=ALICE, idempotency_key="has space")


def test_the_embedded_memory_takes_a_key(memory: Memory, service: MemoryService) -> None:
    one = memory.add("the bus leaves at nine", user_id="alice", idempotency_key="m-1")
    two = memory.add("the bus leaves at nine", user_id="alice", idempotency_key="m-1")
    assert [e.id for e in one.events] == [e.id for e in two.events]
    assert _event_count(service) == 1


@contextmanager
def _commit_reply_lost(*, stored: bool) -> Iterator[None]:
    """The COMMIT of the next add dies: after the commit happened, or instead of it."""
    state = {"armed": True}
    lost = OperationalError("COMMIT", {}, Exception("server closed the connection"))

    def mark(orm_execute_state: Any) -> None:
        statement = orm_execute_state.statement
        table = getattr(statement, "table", None)
        if getattr(statement, "is_insert", False) and getattr(table, "name", "") == "event":
            orm_execute_state.session.info["adds"] = True

    def fail(session: Session) -> None:
        if state["armed"] and session.info.pop("adds", False):
            state["armed"] = False
            raise lost

    event = "after_commit" if stored else "before_commit"
    sa.event.listen(Session, "do_orm_execute", mark)
    sa.event.listen(Session, event, fail)
    try:
        yield
    finally:
        sa.event.remove(Session, event, fail)
        sa.event.remove(Session, "do_orm_execute", mark)


def test_a_commit_that_lost_its_connection_is_resolved_by_the_key(service: MemoryService) -> None:
    service.namespace_id()  # its own commit happens before the one that fails
    with _commit_reply_lost(stored=True):
        result = service.add("the cat sleeps on the sofa", scope=ALICE, idempotency_key="c-1")
    assert len(result.events) == 1 and _event_count(service) == 1
    assert any("sofa" in h.record.content for h in service.search("sofa", scope=ALICE).hits)


def test_a_commit_that_failed_says_not_stored_with_a_key(service: MemoryService) -> None:
    from memsvc.errors import StoreUnavailable

    service.namespace_id()
    with _commit_reply_lost(stored=False), pytest.raises(StoreUnavailable) as failed:
        service.add("the dog sleeps outside", scope=ALICE, idempotency_key="c-2")
    assert not isinstance(failed.value, OutcomeUnknown)
    assert _event_count(service) == 0
    service.add("the dog sleeps outside", scope=ALICE, idempotency_key="c-2")
    assert _event_count(service) == 1


def test_without_a_key_a_lost_commit_says_the_outcome_is_unknown(service: MemoryService) -> None:
    service.namespace_id()
    with _commit_reply_lost(stored=True), pytest.raises(OutcomeUnknown) as unknown:
        service.add("the fish swims", scope=ALICE)
    assert unknown.value.code == "outcome_unknown"


def test_housekeeping_forgets_keys_older_than_a_day(service: MemoryService) -> None:
    from datetime import timedelta

    from memsvc.types import utcnow

    service.add("an old request", scope=ALICE, idempotency_key="old-1")
    worker = service._make_worker(None)
    assert worker.housekeep(now=utcnow() + timedelta(hours=1), force=True) == 0
    assert worker.housekeep(now=utcnow() + timedelta(days=2), force=True) == 1
    with service.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(t.IdempotencyKey)) == 0
