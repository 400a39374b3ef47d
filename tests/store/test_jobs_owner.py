"""One running job per owner across its scopes, and leases renewed while a job runs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from memsvc.config import ConsolidationSettings
from memsvc.consolidate.worker import Worker
from memsvc.store import jobs
from memsvc.store.jobs import JobRow, JobStatus
from memsvc.store.tables import Job
from memsvc.types import Scope, utcnow

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _enqueue(sessions: sessionmaker[Session], ns: int, scope: Scope, at: datetime) -> int:
    with sessions.begin() as session:
        return jobs.enqueue(session, namespace_id=ns, scope=scope, now=at)


def _claim(sessions: sessionmaker[Session], worker: str, at: datetime) -> JobRow | None:
    with sessions.begin() as session:
        return jobs.claim(session, worker_id=worker, now=at, lease_s=60)


def test_two_scopes_of_one_owner_never_run_at_once(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _enqueue(sessions, namespace_id, Scope(user_id="alice", session_id="s1"), T0)
    _enqueue(sessions, namespace_id, Scope(user_id="alice", session_id="s2"), T0)
    _enqueue(sessions, namespace_id, Scope(user_id="bob", session_id="s1"), T0)
    first = _claim(sessions, "w1", T0)
    second = _claim(sessions, "w2", T0)
    assert first is not None and second is not None
    assert {first.scope.user_id, second.scope.user_id} == {"alice", "bob"}
    assert _claim(sessions, "w3", T0) is None  # alice's other session waits for the first
    alice = first if first.scope.user_id == "alice" else second
    with sessions.begin() as session:
        assert jobs.complete(session, alice.id, worker_id=alice.claimed_by or "", now=T0)
    third = _claim(sessions, "w3", T0)
    assert third is not None and third.scope.user_id == "alice" and third.id != alice.id


def test_session_only_scopes_are_their_own_owners(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _enqueue(sessions, namespace_id, Scope(session_id="s1"), T0)
    _enqueue(sessions, namespace_id, Scope(session_id="s2"), T0)
    assert _claim(sessions, "w1", T0) is not None
    assert _claim(sessions, "w2", T0) is not None


def test_a_job_running_past_its_lease_is_not_claimed_again(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _enqueue(sessions, namespace_id, Scope(user_id="slow"), utcnow())
    cfg = ConsolidationSettings(lease_s=0.6, poll_interval_s=0.05)
    runs: list[int] = []
    started = threading.Event()

    def slow(job: JobRow) -> None:
        runs.append(job.id)
        started.set()
        time.sleep(2.0)  # more than three leases

    first = Worker(begin=sessions.begin, cfg=cfg, handle=slow, worker_id="first")
    second = Worker(begin=sessions.begin, cfg=cfg, handle=slow, worker_id="second")
    thread = threading.Thread(target=first.run_once)
    thread.start()
    assert started.wait(10)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert second.run_once() is False
        time.sleep(0.1)
    thread.join(10)
    assert len(runs) == 1
    with sessions.begin() as session:
        statuses = list(
            session.scalars(sa.select(Job.status).where(Job.namespace_id == namespace_id))
        )
    assert statuses == [JobStatus.DONE]
