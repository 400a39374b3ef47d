"""Per-key rate limiting with the ``limits`` library, shared by every process that serves.

At most ``per_minute`` requests per key in any 60-second window (a moving window). Where the
counts live is ``api.rate_limit_storage``: ``memory://`` (the default) keeps them in the process,
which is exact for one worker; with several server workers or replicas point it at Redis
(``redis://127.0.0.1:6379``), so N workers allow the configured rate, not N times it.
"""

from __future__ import annotations

import logging
import time
from typing import cast

from limits import RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from memsvc.errors import ConfigError, RateLimited

__all__ = ["RateLimiter"]

logger = logging.getLogger(__name__)

_PREFIX = "memsvc-rate"


class RateLimiter:
    """Moving-window limits keyed by caller.

    Args:
        per_minute: requests per minute per key; 0 disables the limit.
        storage: a ``limits`` storage URI (``memory://``, ``redis://host:port``, ...).
        key_prefix: prefix of the keys in a shared storage (one per deployment).

    Raises:
        ConfigError: the storage URI is not one ``limits`` knows.
    """

    def __init__(
        self, per_minute: int, *, storage: str = "memory://", key_prefix: str = _PREFIX
    ) -> None:
        self.per_minute = per_minute
        self.storage_uri = storage
        self._item = RateLimitItemPerMinute(max(per_minute, 1))
        options: dict[str, str] = {}
        if not storage.startswith("memory://"):
            options["key_prefix"] = key_prefix
        try:
            self._storage = cast(Storage, storage_from_string(storage, **options))
        except Exception as exc:  # an unknown scheme or a missing client library
            raise ConfigError(
                "rate limit storage cannot be used", detail={"storage": storage.split("@")[-1]}
            ) from exc
        self._limiter = MovingWindowRateLimiter(self._storage)

    @property
    def is_shared(self) -> bool:
        """Whether other processes see the same counts."""
        return not self.storage_uri.startswith("memory://")

    def acquire(self, key: str) -> None:
        """Count one request for ``key``.

        Raises:
            RateLimited: the window is full; ``detail["retry_after_s"]`` says when a slot frees.
        """
        if self.per_minute <= 0:
            return
        try:
            if self._limiter.hit(self._item, key):
                return
            reset_at = self._limiter.get_window_stats(self._item, key).reset_time
        except Exception as exc:  # the storage is away: serve rather than refuse everyone
            logger.warning(
                "rate limit storage failed (%s); request let through", type(exc).__name__
            )
            return
        wait = max(0.001, reset_at - time.time())
        raise RateLimited(
            f"rate limit of {self.per_minute} requests per minute exceeded",
            detail={"limit_per_minute": self.per_minute, "retry_after_s": round(wait, 3)},
        )
