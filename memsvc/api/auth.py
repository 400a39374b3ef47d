"""Who is calling: API key -> namespace and admin right.

Keys are looked up through ``MemoryService.authenticate`` (stored as SHA-256 hashes). A verified
key is remembered for a few seconds so that a busy client does not cost a database write per
request; a key revoked through this app is forgotten at once, one revoked by another process
(the CLI) stops working within ``ttl_s``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memsvc.config import ApiSettings
from memsvc.errors import AuthenticationFailed

if TYPE_CHECKING:
    from memsvc.service.facade import MemoryService

__all__ = ["Authenticator", "Caller"]

logger = logging.getLogger(__name__)

_MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request.

    Attributes:
        namespace: the tenant every operation of the request is confined to.
        is_admin: may call the admin routes.
        principal: the rate-limit key (a key digest prefix, ``admin``, or ``anon:<host>``).
    """

    namespace: str
    is_admin: bool
    principal: str


class Authenticator:
    """Resolves API keys to callers.

    Args:
        cfg: the API settings (``auth``, ``admin_key``).
        default_namespace: the namespace of anonymous callers (auth off) and of the admin key.
        ttl_s: how long a verified key is trusted without asking the database again.
    """

    def __init__(
        self,
        cfg: ApiSettings,
        *,
        default_namespace: str,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg = cfg
        self._default_namespace = default_namespace
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Caller, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def is_enabled(self) -> bool:
        """Whether requests need an API key."""
        return self._cfg.auth

    def lookup(self, secret: str | None, *, client_host: str | None = None) -> Caller | None:
        """The caller when it is known without the database, else ``None`` (then :meth:`verify`).

        Raises:
            AuthenticationFailed: auth is on and no key was given.
        """
        if not self._cfg.auth:
            return Caller(self._default_namespace, True, f"anon:{client_host or '-'}")
        if not secret:
            raise AuthenticationFailed("an API key is required (Authorization: Bearer <key>)")
        admin = self._cfg.admin_key
        if admin is not None and hmac.compare_digest(
            _encode(secret), admin.get_secret_value().encode("utf-8")
        ):
            return Caller(self._default_namespace, True, "admin")
        now = self._clock()
        with self._lock:
            cached = self._cache.get(_digest(secret))
        if cached is not None and cached[1] > now:
            return cached[0]
        return None

    def verify(self, service: MemoryService, secret: str) -> Caller:
        """Check ``secret`` against the stored keys (blocking: a database transaction).

        Raises:
            AuthenticationFailed: unknown or revoked key.
        """
        namespace, is_admin = service.authenticate(secret)
        digest = _digest(secret)
        caller = Caller(namespace, is_admin, f"key:{digest[:16]}")
        with self._lock:
            self._cache[digest] = (caller, self._clock() + self._ttl_s)
            self._cache.move_to_end(digest)
            while len(self._cache) > _MAX_CACHED:
                self._cache.popitem(last=False)
        return caller

    def forget_all(self) -> None:
        """Drop every remembered key (after a revocation)."""
        with self._lock:
            self._cache.clear()


def _encode(secret: str) -> bytes:
    return secret.encode("utf-8", "surrogatepass")


def _digest(secret: str) -> str:
    return hashlib.sha256(_encode(secret)).hexdigest()
