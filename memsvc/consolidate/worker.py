"""The consolidation worker: claims jobs from the SQL queue and runs them.

One worker thread runs inside the service by default; ``memsvc worker`` runs the same loop in
separate processes, any number of them against one PostgreSQL (jobs are claimed with
``FOR UPDATE SKIP LOCKED`` there, under SQLite's write lock here). A failing job is retried with
backoff and finally marked failed with its error; nothing fails silently.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from memsvc.config import ConsolidationSettings
from memsvc.store import idempotency, jobs
from memsvc.types import utcnow

__all__ = ["Worker"]

logger = logging.getLogger(__name__)

_LAG_WINDOW = 1_000
_HOUSEKEEP_EVERY_S = 3_600.0
_KEEP_KEYS = timedelta(days=1)
_KEEP_JOBS = timedelta(days=7)


class Worker:
    """Claims and runs consolidation jobs until stopped.

    Args:
        begin: opens one transaction.
        cfg: polling, lease and retry settings.
        handle: runs one claimed job; it commits its own steps. Raising marks the job for retry.
        worker_id: a name unique among live workers (default: host, pid and thread).
    """

    def __init__(
        self,
        *,
        begin: Callable[[], AbstractContextManager[Session]],
        cfg: ConsolidationSettings,
        handle: Callable[[Any], None],
        worker_id: str | None = None,
    ) -> None:
        self._begin = begin
        self._cfg = cfg
        self._handle = handle
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0
        self.failed = 0
        self.lags_s: deque[float] = deque(maxlen=_LAG_WINDOW)
        self._last_housekeeping = float("-inf")

    def start(self) -> None:
        """Run the loop in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="memsvc-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current job and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_forever(self) -> None:
        """Poll for jobs until :meth:`stop`."""
        logger.info("consolidation worker %s started", self.worker_id)
        while not self._stop.is_set():
            try:
                did_work = self.run_once()
            except Exception as exc:  # the loop is a boundary: log, back off, keep serving
                logger.warning("consolidation worker loop failed: %s", type(exc).__name__)
                logger.debug("worker loop failure", exc_info=True)
                did_work = False
            if not did_work:
                self.housekeep()
                self._wake.wait(self._cfg.poll_interval_s)
                self._wake.clear()
        logger.info("consolidation worker %s stopped", self.worker_id)

    def housekeep(self, *, now: datetime | None = None, force: bool = False) -> int:
        """At most hourly, when idle: forget idempotency keys older than a day and finished
        jobs older than a week (neither table grows forever). Returns the rows deleted."""
        clock = time.monotonic()
        if not force and clock - self._last_housekeeping < _HOUSEKEEP_EVERY_S:
            return 0
        self._last_housekeeping = clock
        at = now or utcnow()
        try:
            with self._begin() as session:
                deleted = idempotency.purge(session, before=at - _KEEP_KEYS)
                deleted += jobs.purge_finished(session, finished_before=at - _KEEP_JOBS)
        except Exception as exc:  # housekeeping waits for the next hour
            logger.warning("housekeeping skipped: %s", type(exc).__name__)
            return 0
        if deleted:
            logger.info("housekeeping removed %d old idempotency keys and jobs", deleted)
        return deleted

    def run_once(self) -> bool:
        """Claim and run one job; returns whether there was one."""
        with self._begin() as session:
            job = jobs.claim(
                session,
                worker_id=self.worker_id,
                now=utcnow(),
                lease_s=self._cfg.lease_s,
                max_attempts=self._cfg.max_attempts,
            )
        if job is None:
            return False
        started = time.perf_counter()
        heartbeat = _Heartbeat(self, job.id)
        heartbeat.start()
        try:
            self._handle(job)
        except Exception as exc:  # any failure of a job is recorded on the job and retried
            self.failed += 1
            # The type only: an error's text may quote what users said (traceback at DEBUG).
            logger.warning(
                "consolidation job %d failed (attempt %d): %s",
                job.id,
                job.attempts,
                type(exc).__name__,
            )
            logger.debug("job %d failure", job.id, exc_info=True)
            with self._begin() as session:
                jobs.fail(
                    session,
                    job.id,
                    worker_id=self.worker_id,
                    error=f"{type(exc).__name__}: {exc}",
                    now=utcnow(),
                    max_attempts=self._cfg.max_attempts,
                )
            return True
        finally:
            heartbeat.stop()
        finished = utcnow()
        with self._begin() as session:
            jobs.complete(session, job.id, worker_id=self.worker_id, now=finished)
        self.processed += 1
        self.lags_s.append((finished - job.requested_at).total_seconds())
        logger.debug("job %d done in %.2fs", job.id, time.perf_counter() - started)
        return True

    def extend_lease(self, job_id: int) -> bool:
        """Renew the lease of a job this worker runs; False once it is no longer ours."""
        with self._begin() as session:
            return jobs.extend_lease(
                session, job_id, worker_id=self.worker_id, now=utcnow(), lease_s=self._cfg.lease_s
            )

    def run_until_idle(self, *, max_jobs: int = 1_000_000) -> int:
        """Run jobs in this thread until none is ready; returns how many ran."""
        count = 0
        while count < max_jobs and self.run_once():
            count += 1
        return count


class _Heartbeat:
    """Renews a running job's lease every third of ``lease_s`` until stopped.

    Without it a job running past its lease (a slow model, a big backlog) was claimed again by
    another worker and ran twice. A renewal that fails (the database is away) is retried at the
    next beat; one that finds the job taken logs it (the apply steps re-check their reads, so
    the late run's writes stay consistent).
    """

    def __init__(self, worker: Worker, job_id: int) -> None:
        self._worker = worker
        self._job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"memsvc-lease-{job_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = max(0.05, self._worker._cfg.lease_s / 3)
        while not self._stop.wait(interval):
            try:
                held = self._worker.extend_lease(self._job_id)
            except Exception as exc:  # the next beat tries again
                logger.warning("lease of job %d not renewed: %s", self._job_id, type(exc).__name__)
                continue
            if not held:
                logger.warning("job %d is no longer held by this worker", self._job_id)
                return
