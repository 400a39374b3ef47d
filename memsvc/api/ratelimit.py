"""Per-key rate limiting: one token bucket per caller, in memory.

Each bucket holds up to ``per_minute`` tokens and refills at ``per_minute / 60`` tokens a
second, so a key may burst up to a minute's allowance and then sustains the configured rate.
The state is per process: with several uvicorn workers each enforces the limit on its own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from memsvc.errors import RateLimited

__all__ = ["RateLimiter"]

_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by caller.

    Args:
        per_minute: sustained requests per minute per key; 0 disables the limit.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> None:
        """Take one token for ``key``.

        Raises:
            RateLimited: the bucket is empty; ``detail["retry_after_s"]`` says when a token is due.
        """
        if self.per_minute <= 0:
            return
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(tokens=float(self.per_minute), updated=now)
                self._buckets[key] = bucket
                if len(self._buckets) > _MAX_BUCKETS:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                bucket.tokens = min(
                    float(self.per_minute), bucket.tokens + (now - bucket.updated) * self._rate
                )
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self._rate
        raise RateLimited(
            f"rate limit of {self.per_minute} requests per minute exceeded",
            detail={"limit_per_minute": self.per_minute, "retry_after_s": round(wait, 3)},
        )
