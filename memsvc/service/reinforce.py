"""Recall reinforcement (MemoryBank): strength += 1 and last_recalled_at = now for returned facts.

Searches only enqueue ids; a background thread applies them in batches, so recall never slows a
search and a burst of searches costs one UPDATE per fact per batch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.errors import MemsvcError
from memsvc.store import tables as t
from memsvc.types import utcnow

__all__ = ["Reinforcer"]

logger = logging.getLogger(__name__)

_STOP = -1


class Reinforcer:
    """Applies recall reinforcement to facts off the search path."""

    def __init__(
        self, begin: Callable[[], AbstractContextManager[Session]], *, enabled: bool = True
    ) -> None:
        self._begin = begin
        self._enabled = enabled
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, fact_ids: Iterable[int]) -> None:
        """Queue facts that a search returned."""
        if not self._enabled:
            return
        ids = list(fact_ids)
        if not ids:
            return
        self._ensure_thread()
        self._idle.clear()
        for fact_id in ids:
            self._queue.put(fact_id)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="memsvc-reinforce", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first == _STOP:
                return
            batch = Counter([first])
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item == _STOP:
                    self._apply(batch)
                    return
                batch[item] += 1
            self._apply(batch)
            if self._queue.empty():
                self._idle.set()

    def _apply(self, batch: Counter[int]) -> None:
        now = utcnow()
        rows = [{"fact_id": i, "times": n, "now": now} for i, n in batch.items()]
        try:
            with self._begin() as session:
                session.connection().execute(_REINFORCE, rows)
        except MemsvcError:
            logger.warning(
                "recall reinforcement of %d facts failed; skipped", len(batch), exc_info=True
            )

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until queued reinforcements are applied."""
        if self._thread is not None and self._thread.is_alive():
            self._idle.wait(timeout)

    def close(self) -> None:
        """Apply what is queued and stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=10)


# One statement for the whole batch (executemany): this thread shares the GIL with searches,
# and building an UPDATE per fact cost them time.
_FACTS = cast(sa.Table, t.Fact.__table__)
_REINFORCE = (
    sa.update(_FACTS)
    .where(_FACTS.c.id == sa.bindparam("fact_id"))
    .values(
        strength=_FACTS.c.strength + sa.bindparam("times"),
        recall_count=_FACTS.c.recall_count + sa.bindparam("times"),
        last_recalled_at=sa.bindparam("now"),
    )
)
