"""The consolidation queue, on the ``job`` table.

A job says "consolidate this scope". Adds coalesce: while a scope has a pending job, further
adds only move its ``requested_at`` back to the earliest request not yet served, so a busy user
costs one job, not one per message. A running job takes no new work; an add during a run
creates a new pending job, so nothing said during consolidation is lost. At most one job per
(namespace, owner) runs at a time, across all of the owner's scopes (``alice/s1`` and
``alice/s2`` both write alice's facts and tree): :func:`claim` skips an owner whose job is
running under a live lease. A worker renews its lease while the job runs
(:func:`extend_lease`), so a long job is not claimed a second time.

Workers :func:`claim` a job under a lease, then :func:`complete` or :func:`fail` it; a job
whose lease ran out (the worker died) is claimed again. Claiming is safe with many workers:
PostgreSQL uses ``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite relies on the write transaction
(``BEGIN IMMEDIATE``, see :mod:`memsvc.store.db`) serialising claimers. On both, the claim is a
guarded ``UPDATE ... WHERE status = ...`` so a row can be claimed only once.

Every function takes a Session and never commits: the caller owns the unit of work.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.errors import JobNotFound
from memsvc.store.db import (
    SQLITE_BEGIN_OPTION,
    advisory_xact_lock,
    lock_key,
    lock_namespace_writes,
)
from memsvc.store.tables import Job
from memsvc.types import Scope

__all__ = [
    "CONSOLIDATE",
    "MAX_BACKOFF_S",
    "MAX_ERROR_CHARS",
    "JobRow",
    "JobStats",
    "JobStatus",
    "cancel_scope",
    "claim",
    "complete",
    "enqueue",
    "extend_lease",
    "fail",
    "get",
    "owner_key",
    "purge_finished",
    "scope_key",
    "stats",
]

logger = logging.getLogger(__name__)

CONSOLIDATE = "consolidate"
"""The one job kind so far."""

MAX_ERROR_CHARS = 2_000
"""``last_error`` keeps at most this many characters of the failure message."""

MAX_BACKOFF_S = 3_600.0
"""Retry delays grow exponentially up to this."""

_MAX_TRIES = 16
_T = cast(sa.Table, Job.__table__)


class JobStatus(enum.StrEnum):
    """Lifecycle of a job: pending -> running -> done | failed (or back to pending to retry)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job as plain values, detached from any session."""

    id: int
    namespace_id: int
    kind: str
    scope: Scope
    scope_key: str
    status: JobStatus
    attempts: int
    last_error: str | None
    claimed_by: str | None
    lease_until: datetime | None
    run_after: datetime
    requested_at: datetime
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class JobStats(TypedDict):
    """Job counts per status and the queue's lag."""

    pending: int
    running: int
    done: int
    failed: int
    cancelled: int
    oldest_pending_requested_at: datetime | None


def scope_key(scope: Scope) -> str:
    """The canonical string of a scope: ``"u=<user>|a=<agent>|s=<session>"``, empty when unset.

    Unambiguous because ``|`` cannot occur in a scope value; at most 392 characters.
    """
    return f"u={scope.user_id or ''}|a={scope.agent_id or ''}|s={scope.session_id or ''}"


def enqueue(session: Session, *, namespace_id: int, scope: Scope, now: datetime) -> int:
    """Ask for the scope to be consolidated; returns the id of the pending job that will do it.

    A pending job of the same scope absorbs the request (its ``requested_at`` becomes the
    earlier of the two); otherwise a new pending job is created, also when one is running.
    On PostgreSQL this takes the namespace's write lock
    (:func:`~memsvc.store.db.lock_namespace_writes`) until the transaction ends, so concurrent
    adds cannot create two pending jobs for one scope.
    """
    key = scope_key(scope)
    lock_namespace_writes(session, namespace_id)
    pending = session.execute(
        sa.select(_T.c.id, _T.c.requested_at)
        .where(
            _T.c.namespace_id == namespace_id,
            _T.c.scope_key == key,
            _T.c.kind == CONSOLIDATE,
            _T.c.status == JobStatus.PENDING,
        )
        .order_by(_T.c.id)
        .limit(1)
    ).first()
    if pending is not None:
        # Guarded: a claimer may have taken the job since we read it (PostgreSQL re-checks
        # the WHERE clause after the claimer commits); then fall through to a new job.
        moved = session.execute(
            sa.update(_T)
            .where(_T.c.id == pending.id, _T.c.status == JobStatus.PENDING)
            .values(requested_at=min(pending.requested_at, now), updated_at=now)
        )
        if _rowcount(moved) == 1:
            return int(pending.id)
    inserted = session.execute(
        sa.insert(_T)
        .values(
            namespace_id=namespace_id,
            kind=CONSOLIDATE,
            scope_key=key,
            user_id=scope.user_id,
            agent_id=scope.agent_id,
            session_id=scope.session_id,
            status=JobStatus.PENDING,
            attempts=0,
            run_after=now,
            requested_at=now,
            created_at=now,
            updated_at=now,
        )
        .returning(_T.c.id)
    )
    job_id = int(inserted.scalar_one())
    logger.debug("job %d enqueued in namespace %d", job_id, namespace_id)
    return job_id


def claim(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    lease_s: float,
    max_attempts: int | None = None,
) -> JobRow | None:
    """Claim the next runnable job for ``worker_id`` under a lease of ``lease_s`` seconds.

    Runnable: pending with ``run_after <= now``, or running with an expired lease, and no other
    job of the same scope running under a live lease. The claim increments ``attempts``.
    Commit promptly: the claim is only visible to other workers once committed.

    Args:
        session: a write session (on SQLite not one from ``make_sessionmaker(is_read_only=True)``).
        worker_id: who claims; :func:`complete` and :func:`fail` check it.
        now: the current time.
        lease_s: how long the job is ours; re-claimable by anyone after that.
        max_attempts: when given, a job whose lease expired after this many attempts is marked
            failed instead of being claimed again (a job that crashes its worker every time).

    Returns:
        The claimed job, or ``None`` when nothing is runnable.
    """
    _require_write_session(session)
    is_postgres = session.get_bind().dialect.name == "postgresql"
    passed: list[int] = []
    for _ in range(_MAX_TRIES):
        # One row at a time: FOR UPDATE locks every row a query returns, and rows locked
        # here would be skipped by every other claimer until we commit.
        query = _candidate(now, passed)
        if is_postgres:
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).first()
        if row is None:
            return None
        passed.append(int(row.id))
        if is_postgres and not _lock_scope(session, row, now):
            continue
        if (
            row.status == JobStatus.RUNNING
            and max_attempts is not None
            and row.attempts >= max_attempts
        ):
            _give_up_expired(session, row, now=now)
            continue
        lease_until = now + timedelta(seconds=lease_s)
        if _take(session, row, worker_id=worker_id, now=now, lease_until=lease_until):
            logger.debug("job %d claimed by %s", row.id, worker_id)
            return _get_row(session, int(row.id))
    return None


def extend_lease(
    session: Session, job_id: int, *, worker_id: str, now: datetime, lease_s: float
) -> bool:
    """Renew the lease of a job the worker still holds (a heartbeat for long jobs).

    Returns:
        False when the job is no longer this worker's (its lease expired and it was re-claimed).
    """
    done = session.execute(
        sa.update(_T)
        .where(*_held_by(job_id, worker_id))
        .values(lease_until=now + timedelta(seconds=lease_s), updated_at=now)
    )
    return _rowcount(done) == 1


def complete(session: Session, job_id: int, *, worker_id: str, now: datetime) -> bool:
    """Mark a claimed job done.

    Returns:
        False (and nothing changes) when ``worker_id`` no longer holds the job.

    Raises:
        JobNotFound: there is no job ``job_id``.
    """
    done = session.execute(
        sa.update(_T)
        .where(*_held_by(job_id, worker_id))
        .values(status=JobStatus.DONE, lease_until=None, finished_at=now, updated_at=now)
    )
    if _rowcount(done) == 1:
        return True
    _lost(session, job_id, worker_id)
    return False


def fail(
    session: Session,
    job_id: int,
    *,
    worker_id: str,
    error: str,
    now: datetime,
    max_attempts: int,
    backoff: float = 2.0,
) -> JobRow | None:
    """Record a failed attempt: retry later with exponential backoff, or fail for good.

    The job goes back to pending with ``run_after = now + backoff * 2**(attempts - 1)`` (at most
    :data:`MAX_BACKOFF_S` seconds) while ``attempts < max_attempts``; then its status becomes
    failed. ``error`` is kept in ``last_error``, cut to :data:`MAX_ERROR_CHARS`. A pending job
    of the same scope created during the run is folded into the retry.

    Returns:
        The job after the change, or ``None`` when ``worker_id`` no longer holds it.

    Raises:
        JobNotFound: there is no job ``job_id``.
    """
    held = session.execute(
        sa.select(_T.c.attempts, _T.c.namespace_id, _T.c.scope_key, _T.c.requested_at).where(
            *_held_by(job_id, worker_id)
        )
    ).first()
    if held is None:
        _lost(session, job_id, worker_id)
        return None
    values: dict[str, Any] = {
        "last_error": _truncate(error),
        "claimed_by": None,
        "lease_until": None,
        "updated_at": now,
    }
    if held.attempts >= max_attempts:
        values |= {"status": JobStatus.FAILED, "finished_at": now}
        logger.warning("job %d failed after %d attempts", job_id, held.attempts)
    else:
        delay = min(backoff * 2 ** max(held.attempts - 1, 0), MAX_BACKOFF_S)
        requested_at = _absorb_pending(
            session,
            job_id=job_id,
            namespace_id=held.namespace_id,
            key=held.scope_key,
            requested_at=held.requested_at,
        )
        values |= {
            "status": JobStatus.PENDING,
            "run_after": now + timedelta(seconds=delay),
            "requested_at": requested_at,
        }
        logger.info("job %d attempt %d failed; retry in %.0fs", job_id, held.attempts, delay)
    session.execute(sa.update(_T).where(*_held_by(job_id, worker_id)).values(**values))
    return _get_row(session, job_id)


def cancel_scope(session: Session, *, namespace_id: int, scope: Scope, now: datetime) -> int:
    """Cancel the pending jobs of every scope matched by ``scope`` (unset keys match anything).

    Used when a scope's memories are erased. Running jobs are left to finish (they find
    nothing left to do). Returns the number of jobs cancelled.
    """
    matches = [_T.c[name] == value for name, value in scope.as_dict().items()]
    done = session.execute(
        sa.update(_T)
        .where(_T.c.namespace_id == namespace_id, _T.c.status == JobStatus.PENDING, *matches)
        .values(status=JobStatus.CANCELLED, finished_at=now, updated_at=now)
    )
    return _rowcount(done)


def purge_finished(session: Session, *, finished_before: datetime) -> int:
    """Delete done and cancelled jobs finished before ``finished_before``; failed ones stay.

    Returns the number of jobs deleted.
    """
    done = session.execute(
        sa.delete(_T).where(
            _T.c.status.in_([JobStatus.DONE, JobStatus.CANCELLED]),
            _T.c.finished_at < finished_before,
        )
    )
    return _rowcount(done)


def stats(session: Session, namespace_id: int | None = None) -> JobStats:
    """Jobs per status and the ``requested_at`` of the oldest pending one (the queue's lag).

    Args:
        session: any session.
        namespace_id: one namespace, or ``None`` for all.
    """
    where = [] if namespace_id is None else [_T.c.namespace_id == namespace_id]
    counts: dict[str, int] = {
        status: int(n)
        for status, n in session.execute(
            sa.select(_T.c.status, sa.func.count()).where(*where).group_by(_T.c.status)
        )
    }
    oldest = session.execute(
        sa.select(sa.func.min(_T.c.requested_at)).where(*where, _T.c.status == JobStatus.PENDING)
    ).scalar_one()
    return JobStats(
        pending=int(counts.get(JobStatus.PENDING, 0)),
        running=int(counts.get(JobStatus.RUNNING, 0)),
        done=int(counts.get(JobStatus.DONE, 0)),
        failed=int(counts.get(JobStatus.FAILED, 0)),
        cancelled=int(counts.get(JobStatus.CANCELLED, 0)),
        oldest_pending_requested_at=oldest,
    )


def get(session: Session, namespace_id: int, job_id: int) -> JobRow:
    """One job of the namespace.

    Raises:
        JobNotFound: no job ``job_id`` in ``namespace_id``.
    """
    row = session.execute(
        sa.select(_T).where(_T.c.id == job_id, _T.c.namespace_id == namespace_id)
    ).first()
    if row is None:
        raise JobNotFound(f"job {job_id} not found", detail={"job_id": job_id})
    return _to_job(row)


# -- helpers -------------------------------------------------------------------------------


def _same_owner(other: Any, row: Any) -> sa.ColumnElement[bool]:
    """``other`` consolidates into the same owner as ``row``: the same user and agent (facts,
    the tree and profiles are per owner), or, for a scope of a session alone, the same session.
    """
    same_person = sa.and_(
        other.c.user_id.is_not_distinct_from(row.user_id),
        other.c.agent_id.is_not_distinct_from(row.agent_id),
    )
    has_person = sa.or_(other.c.user_id.is_not(None), other.c.agent_id.is_not(None))
    return sa.and_(
        same_person,
        sa.or_(has_person, other.c.session_id.is_not_distinct_from(row.session_id)),
    )


def owner_key(user_id: str | None, agent_id: str | None, session_id: str | None) -> str:
    """The key of the owner a scope consolidates into (see :func:`_same_owner`)."""
    if user_id is None and agent_id is None:
        return scope_key(Scope(session_id=session_id))
    return scope_key(Scope(user_id=user_id, agent_id=agent_id))


def _candidate(now: datetime, passed: list[int]) -> sa.Select[Any]:
    other = _T.alias("other")
    busy = (
        sa.select(other.c.id)
        .where(
            other.c.namespace_id == _T.c.namespace_id,
            _same_owner(other, _T.c),
            other.c.id != _T.c.id,
            other.c.status == JobStatus.RUNNING,
            other.c.lease_until >= now,
        )
        .exists()
    )
    runnable = sa.or_(
        sa.and_(_T.c.status == JobStatus.PENDING, _T.c.run_after <= now),
        sa.and_(_T.c.status == JobStatus.RUNNING, _T.c.lease_until < now),
    )
    return (
        sa.select(
            _T.c.id,
            _T.c.namespace_id,
            _T.c.scope_key,
            _T.c.user_id,
            _T.c.agent_id,
            _T.c.session_id,
            _T.c.status,
            _T.c.attempts,
        )
        .where(runnable, ~busy, _T.c.id.not_in(passed))
        .order_by(_T.c.run_after, _T.c.id)
        .limit(1)
    )


def _lock_scope(session: Session, row: sa.Row[Any], now: datetime) -> bool:
    """PostgreSQL: make sure no concurrent claimer takes another job of this owner.

    Two jobs of one owner can both be runnable (two sessions of a user, or an expired running
    job and a pending one); SKIP LOCKED alone would hand them to two workers. The try-lock
    makes claimers of one owner take turns, and the re-check (a new statement, so a fresh
    snapshot) sees a claim that committed after our candidate query.
    """
    key = owner_key(row.user_id, row.agent_id, row.session_id)
    if not advisory_xact_lock(
        session, lock_key("memsvc.job.owner", row.namespace_id, key), is_blocking=False
    ):
        return False
    other_running = session.execute(
        sa.select(_T.c.id).where(
            _T.c.namespace_id == row.namespace_id,
            _same_owner(_T, row),
            _T.c.id != row.id,
            _T.c.status == JobStatus.RUNNING,
            _T.c.lease_until >= now,
        )
    ).first()
    return other_running is None


def _take(
    session: Session, row: sa.Row[Any], *, worker_id: str, now: datetime, lease_until: datetime
) -> bool:
    still = (
        sa.and_(_T.c.status == JobStatus.PENDING, _T.c.run_after <= now)
        if row.status == JobStatus.PENDING
        else sa.and_(_T.c.status == JobStatus.RUNNING, _T.c.lease_until < now)
    )
    taken = session.execute(
        sa.update(_T)
        .where(_T.c.id == row.id, still)
        .values(
            status=JobStatus.RUNNING,
            claimed_by=worker_id,
            lease_until=lease_until,
            attempts=_T.c.attempts + 1,
            updated_at=now,
        )
    )
    return _rowcount(taken) == 1


def _give_up_expired(session: Session, row: sa.Row[Any], *, now: datetime) -> None:
    session.execute(
        sa.update(_T)
        .where(_T.c.id == row.id, _T.c.status == JobStatus.RUNNING, _T.c.lease_until < now)
        .values(
            status=JobStatus.FAILED,
            last_error=f"lease expired {row.attempts} times (the worker stopped)",
            claimed_by=None,
            lease_until=None,
            finished_at=now,
            updated_at=now,
        )
    )
    logger.warning("job %d failed: lease expired after %d attempts", row.id, row.attempts)


def _absorb_pending(
    session: Session, *, job_id: int, namespace_id: int, key: str, requested_at: datetime
) -> datetime:
    """Fold a pending job of the same scope into the retried one; the earliest request wins."""
    query = sa.select(_T.c.id, _T.c.requested_at).where(
        _T.c.namespace_id == namespace_id,
        _T.c.scope_key == key,
        _T.c.status == JobStatus.PENDING,
        _T.c.id != job_id,
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for other in session.execute(query).all():
        session.execute(sa.delete(_T).where(_T.c.id == other.id))
        requested_at = min(requested_at, other.requested_at)
    return requested_at


def _held_by(job_id: int, worker_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (_T.c.id == job_id, _T.c.status == JobStatus.RUNNING, _T.c.claimed_by == worker_id)


def _lost(session: Session, job_id: int, worker_id: str) -> None:
    exists = session.execute(sa.select(_T.c.id).where(_T.c.id == job_id)).first()
    if exists is None:
        raise JobNotFound(f"job {job_id} not found", detail={"job_id": job_id})
    logger.warning("job %d is no longer held by worker %s (lease expired)", job_id, worker_id)


def _require_write_session(session: Session) -> None:
    conn = session.connection()
    if conn.dialect.name == "sqlite" and (
        conn.get_execution_options().get(SQLITE_BEGIN_OPTION) == "DEFERRED"
    ):
        raise ValueError("claim() needs a write session (BEGIN IMMEDIATE) on SQLite")


def _get_row(session: Session, job_id: int) -> JobRow:
    row = session.execute(sa.select(_T).where(_T.c.id == job_id)).one()
    return _to_job(row)


def _to_job(row: sa.Row[Any]) -> JobRow:
    return JobRow(
        id=int(row.id),
        namespace_id=int(row.namespace_id),
        kind=row.kind,
        scope=Scope(user_id=row.user_id, agent_id=row.agent_id, session_id=row.session_id),
        scope_key=row.scope_key,
        status=JobStatus(row.status),
        attempts=int(row.attempts),
        last_error=row.last_error,
        claimed_by=row.claimed_by,
        lease_until=row.lease_until,
        run_after=row.run_after,
        requested_at=row.requested_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


def _truncate(error: str) -> str:
    if len(error) <= MAX_ERROR_CHARS:
        return error
    return error[: MAX_ERROR_CHARS - 1] + "…"


def _rowcount(result: sa.Result[Any]) -> int:
    return int(cast("sa.CursorResult[Any]", result).rowcount)
