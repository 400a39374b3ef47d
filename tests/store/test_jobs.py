"""The consolidation queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from memsvc.errors import JobNotFound
from memsvc.store import jobs
from memsvc.store.jobs import JobStatus
from memsvc.types import Scope

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALICE = Scope(user_id="alice")
BOB = Scope(user_id="bob")
LEASE = 60.0


def _enqueue(sessions: sessionmaker[Session], ns: int, scope: Scope, at: datetime) -> int:
    with sessions.begin() as session:
        return jobs.enqueue(session, namespace_id=ns, scope=scope, now=at)


def _claim(
    sessions: sessionmaker[Session], worker: str, at: datetime, **kwargs: int
) -> jobs.JobRow | None:
    with sessions.begin() as session:
        return jobs.claim(session, worker_id=worker, now=at, lease_s=LEASE, **kwargs)


def _get(sessions: sessionmaker[Session], ns: int, job_id: int) -> jobs.JobRow:
    with sessions.begin() as session:
        return jobs.get(session, ns, job_id)


def test_scope_key_distinguishes_every_key() -> None:
    keys = {
        jobs.scope_key(Scope(user_id="a")),
        jobs.scope_key(Scope(agent_id="a")),
        jobs.scope_key(Scope(session_id="a")),
        jobs.scope_key(Scope(user_id="a", agent_id="b")),
        jobs.scope_key(Scope(user_id="a", session_id="b")),
    }
    assert len(keys) == 5
    assert jobs.scope_key(Scope(user_id="u", session_id="s")) == "u=u|a=|s=s"
    assert len(jobs.scope_key(Scope("x" * 128, "y" * 128, "z" * 128))) <= 400


def test_enqueue_coalesces_into_pending_job_keeping_earliest_request(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    first = _enqueue(sessions, namespace_id, ALICE, T0 + timedelta(seconds=10))
    second = _enqueue(sessions, namespace_id, ALICE, T0)
    third = _enqueue(sessions, namespace_id, ALICE, T0 + timedelta(seconds=20))

    assert first == second == third
    job = _get(sessions, namespace_id, first)
    assert job.requested_at == T0
    assert (job.status, job.scope) == (JobStatus.PENDING, ALICE)


def test_enqueue_other_scope_gets_its_own_job(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    assert _enqueue(sessions, namespace_id, ALICE, T0) != _enqueue(sessions, namespace_id, BOB, T0)


def test_enqueue_while_running_creates_new_pending_job(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    running = _enqueue(sessions, namespace_id, ALICE, T0)
    assert _claim(sessions, "w1", T0) is not None

    later = _enqueue(sessions, namespace_id, ALICE, T0 + timedelta(seconds=1))

    assert later != running
    assert _get(sessions, namespace_id, later).status is JobStatus.PENDING
    assert _get(sessions, namespace_id, running).status is JobStatus.RUNNING


def test_claim_takes_oldest_runnable_job_under_lease(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    older = _enqueue(sessions, namespace_id, ALICE, T0)
    _enqueue(sessions, namespace_id, BOB, T0 + timedelta(seconds=1))

    job = _claim(sessions, "w1", T0 + timedelta(seconds=2))

    assert job is not None
    assert (job.id, job.status, job.claimed_by, job.attempts) == (
        older,
        JobStatus.RUNNING,
        "w1",
        1,
    )
    assert job.lease_until == T0 + timedelta(seconds=2 + LEASE)


def test_claim_returns_none_before_run_after(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _enqueue(sessions, namespace_id, ALICE, T0)
    assert _claim(sessions, "w1", T0 - timedelta(seconds=1)) is None


def test_claim_skips_scope_whose_job_is_running(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _enqueue(sessions, namespace_id, ALICE, T0)
    assert _claim(sessions, "w1", T0) is not None
    _enqueue(sessions, namespace_id, ALICE, T0)

    assert _claim(sessions, "w2", T0 + timedelta(seconds=1)) is None


def test_claim_reclaims_job_whose_lease_expired(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0)
    assert _claim(sessions, "dead", T0) is not None
    assert _claim(sessions, "w2", T0 + timedelta(seconds=LEASE - 1)) is None

    again = _claim(sessions, "w2", T0 + timedelta(seconds=LEASE + 1))

    assert again is not None
    assert (again.id, again.claimed_by, again.attempts) == (job_id, "w2", 2)
    with sessions.begin() as session:
        lost = jobs.complete(session, job_id, worker_id="dead", now=T0 + timedelta(seconds=99))
    assert lost is False


def test_claim_fails_expired_job_after_max_attempts(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0)
    assert _claim(sessions, "dead", T0, max_attempts=1) is not None

    assert _claim(sessions, "w2", T0 + timedelta(seconds=LEASE + 1), max_attempts=1) is None
    job = _get(sessions, namespace_id, job_id)
    assert job.status is JobStatus.FAILED
    assert job.last_error is not None and "lease expired" in job.last_error


def test_claim_one_job_concurrent_claimers_get_it_once(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    _enqueue(sessions, namespace_id, ALICE, T0)
    claimed = _race(sessions, workers=4)
    assert len([job for job in claimed if job is not None]) == 1


def test_claim_concurrent_claimers_get_distinct_jobs(
    sessions: sessionmaker[Session], make_namespace: Callable[[str], int]
) -> None:
    ns = make_namespace("busy")
    for i in range(6):
        _enqueue(sessions, ns, Scope(user_id=f"user{i}"), T0)

    claimed = [job for job in _race(sessions, workers=4) if job is not None]

    assert len(claimed) == 4
    assert len({job.id for job in claimed}) == 4


def _race(sessions: sessionmaker[Session], *, workers: int) -> list[jobs.JobRow | None]:
    """``workers`` threads (each with its own connection) claim at the same moment."""
    start = threading.Barrier(workers)
    results: list[jobs.JobRow | None] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        start.wait()
        try:
            results.append(_claim(sessions, name, T0 + timedelta(seconds=1)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_complete_marks_job_done(sessions: sessionmaker[Session], namespace_id: int) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0)
    _claim(sessions, "w1", T0)
    with sessions.begin() as session:
        assert jobs.complete(session, job_id, worker_id="w1", now=T0 + timedelta(seconds=5))

    job = _get(sessions, namespace_id, job_id)
    assert (job.status, job.finished_at, job.lease_until) == (
        JobStatus.DONE,
        T0 + timedelta(seconds=5),
        None,
    )


def test_complete_unknown_job_raises_job_not_found(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(JobNotFound), sessions.begin() as session:
        jobs.complete(session, 999, worker_id="w1", now=T0)


def test_fail_retries_with_exponential_backoff_then_fails(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0)
    now, history = T0, []
    for _ in range(3):
        claimed = _claim(sessions, "w1", now)
        assert claimed is not None and claimed.id == job_id
        with sessions.begin() as session:
            job = jobs.fail(
                session, job_id, worker_id="w1", error="boom", now=now, max_attempts=3, backoff=10
            )
        assert job is not None
        history.append((now, job))
        if job.status is JobStatus.PENDING:
            assert _claim(sessions, "w1", job.run_after - timedelta(seconds=1)) is None
            now = job.run_after

    assert [job.status for _, job in history] == [JobStatus.PENDING] * 2 + [JobStatus.FAILED]
    assert [(job.run_after - at).total_seconds() for at, job in history[:2]] == [10.0, 20.0]
    last = history[-1][1]
    assert (last.attempts, last.last_error, last.finished_at) == (3, "boom", now)


def test_fail_truncates_long_error(sessions: sessionmaker[Session], namespace_id: int) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0)
    _claim(sessions, "w1", T0)
    with sessions.begin() as session:
        job = jobs.fail(session, job_id, worker_id="w1", error="x" * 10_000, now=T0, max_attempts=5)
    assert job is not None and job.last_error is not None
    assert len(job.last_error) == jobs.MAX_ERROR_CHARS


def test_fail_folds_pending_job_of_same_scope_into_retry(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0 + timedelta(seconds=5))
    _claim(sessions, "w1", T0 + timedelta(seconds=5))
    newer = _enqueue(sessions, namespace_id, ALICE, T0 + timedelta(seconds=6))

    with sessions.begin() as session:
        jobs.fail(session, job_id, worker_id="w1", error="x", now=T0, max_attempts=5)
        pending = jobs.stats(session, namespace_id)["pending"]

    assert pending == 1
    assert _enqueue(sessions, namespace_id, ALICE, T0 + timedelta(seconds=7)) == job_id
    with pytest.raises(JobNotFound):
        _get(sessions, namespace_id, newer)


def test_fail_by_worker_that_lost_the_lease_changes_nothing(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0)
    _claim(sessions, "w1", T0)
    with sessions.begin() as session:
        result = jobs.fail(session, job_id, worker_id="w2", error="x", now=T0, max_attempts=5)
    assert result is None
    assert _get(sessions, namespace_id, job_id).claimed_by == "w1"


def test_extend_lease_keeps_job_from_being_reclaimed(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    job_id = _enqueue(sessions, namespace_id, ALICE, T0)
    _claim(sessions, "w1", T0)
    with sessions.begin() as session:
        assert jobs.extend_lease(
            session, job_id, worker_id="w1", now=T0 + timedelta(seconds=50), lease_s=LEASE
        )
    assert _claim(sessions, "w2", T0 + timedelta(seconds=LEASE + 1)) is None


def test_stats_counts_per_status_and_oldest_pending(
    sessions: sessionmaker[Session], make_namespace: Callable[[str], int]
) -> None:
    ns, other = make_namespace("one"), make_namespace("two")
    done = _enqueue(sessions, ns, ALICE, T0)
    _claim(sessions, "w1", T0)
    with sessions.begin() as session:
        jobs.complete(session, done, worker_id="w1", now=T0)
    _enqueue(sessions, ns, BOB, T0 + timedelta(seconds=3))
    _enqueue(sessions, ns, Scope(user_id="carol"), T0 + timedelta(seconds=2))
    _enqueue(sessions, other, ALICE, T0 - timedelta(seconds=9))

    with sessions.begin() as session:
        mine, everything = jobs.stats(session, ns), jobs.stats(session)

    assert mine == {
        "pending": 2,
        "running": 0,
        "done": 1,
        "failed": 0,
        "cancelled": 0,
        "oldest_pending_requested_at": T0 + timedelta(seconds=2),
    }
    assert everything["pending"] == 3
    assert everything["oldest_pending_requested_at"] == T0 - timedelta(seconds=9)


def test_get_job_of_another_namespace_raises_job_not_found(
    sessions: sessionmaker[Session], make_namespace: Callable[[str], int]
) -> None:
    ns, other = make_namespace("one"), make_namespace("two")
    job_id = _enqueue(sessions, ns, ALICE, T0)
    with pytest.raises(JobNotFound):
        _get(sessions, other, job_id)


def test_cancel_scope_cancels_matching_pending_jobs(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    alice_a = _enqueue(sessions, namespace_id, Scope(user_id="alice", agent_id="a"), T0)
    alice_b = _enqueue(sessions, namespace_id, Scope(user_id="alice", agent_id="b"), T0)
    bob = _enqueue(sessions, namespace_id, BOB, T0)

    with sessions.begin() as session:
        cancelled = jobs.cancel_scope(session, namespace_id=namespace_id, scope=ALICE, now=T0)

    assert cancelled == 2
    statuses = [_get(sessions, namespace_id, i).status for i in (alice_a, alice_b, bob)]
    assert statuses == [JobStatus.CANCELLED, JobStatus.CANCELLED, JobStatus.PENDING]


def test_purge_finished_deletes_old_done_jobs_only(
    sessions: sessionmaker[Session], namespace_id: int
) -> None:
    done = _enqueue(sessions, namespace_id, ALICE, T0)
    _claim(sessions, "w1", T0)
    with sessions.begin() as session:
        jobs.complete(session, done, worker_id="w1", now=T0)
    pending = _enqueue(sessions, namespace_id, BOB, T0)

    with sessions.begin() as session:
        purged = jobs.purge_finished(session, finished_before=T0 + timedelta(seconds=1))
        left = session.execute(sa.text("SELECT id FROM job")).scalars().all()

    assert (purged, left) == (1, [pending])
