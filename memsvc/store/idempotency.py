"""Idempotency keys: the first reply to a request is kept, and a repeat gets it back.

A client that does not know whether its add was stored (a timeout, a connection that died
during COMMIT) sends it again with the same key; the store answers with the first outcome
and stores nothing new. The key row is written in the same transaction as the data, so the two
are stored together or not at all. A key reused for a different request is refused.

Every function takes a Session and never commits.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.errors import IdempotencyConflict, InvalidInput
from memsvc.store.db import lock_namespace_writes
from memsvc.store.tables import IdempotencyKey

__all__ = ["MAX_KEY_CHARS", "check_key", "purge", "recall", "remember", "request_hash"]

MAX_KEY_CHARS = 200


def check_key(key: str | None) -> str | None:
    """A valid key (1-200 printable ASCII characters) or ``None``.

    Raises:
        InvalidInput: the key is empty, too long or not printable ASCII.
    """
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_CHARS or not all(" " < c <= "~" for c in key):
        raise InvalidInput(
            "idempotency key must be 1-200 printable ASCII characters without spaces",
            detail={"max_chars": MAX_KEY_CHARS},
        )
    return key


def request_hash(payload: Any) -> str:
    """A digest of what was asked, to tell a true repeat from a reused key."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def recall(
    session: Session, *, namespace_id: int, key: str, digest: str, lock: bool = True
) -> dict[str, Any] | None:
    """The stored reply for ``key``, or ``None`` when it was never stored.

    With ``lock`` (inside a write transaction) the namespace's write lock is taken first on
    PostgreSQL, so two concurrent requests with one key are answered one after the other.

    Raises:
        IdempotencyConflict: ``key`` was stored for a different request.
    """
    if lock:
        lock_namespace_writes(session, namespace_id)
    row = session.get(IdempotencyKey, (namespace_id, key))
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyConflict(
            "idempotency key was already used for a different request", detail={"key": key}
        )
    return dict(row.result)


def remember(
    session: Session,
    *,
    namespace_id: int,
    key: str,
    digest: str,
    result: dict[str, Any],
    now: datetime,
) -> None:
    """Store the reply for ``key`` in the caller's transaction."""
    session.add(
        IdempotencyKey(
            namespace_id=namespace_id, key=key, request_hash=digest, result=result, created_at=now
        )
    )


def purge(session: Session, *, before: datetime) -> int:
    """Forget keys stored before ``before``; returns how many."""
    done = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < before))
    return int(getattr(done, "rowcount", 0) or 0)
