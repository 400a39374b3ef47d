"""Namespaces (tenants) and their API keys (stored as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.errors import AuthenticationFailed, InvalidInput
from memsvc.store import tables as t

__all__ = [
    "CreatedKey",
    "create_key",
    "ensure_namespace",
    "find_key",
    "hash_key",
    "list_keys",
    "revoke_key",
]

_KEY_PREFIX = "msk_"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key; ``secret`` is shown once and never stored."""

    id: int
    namespace: str
    name: str
    secret: str
    is_admin: bool


def hash_key(secret: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def ensure_namespace(session: Session, name: str, *, now: datetime) -> int:
    """The id of namespace ``name``, created when missing."""
    if not name or len(name) > 128:
        raise InvalidInput("namespace names are 1-128 characters")
    found = session.scalar(sa.select(t.Namespace.id).where(t.Namespace.name == name))
    if found is not None:
        return int(found)
    row = t.Namespace(name=name, created_at=now)
    session.add(row)
    session.flush()
    return int(row.id)


def create_key(
    session: Session, *, namespace: str, name: str, is_admin: bool, now: datetime
) -> CreatedKey:
    """Create an API key for a namespace (created when missing)."""
    ns_id = ensure_namespace(session, namespace, now=now)
    secret = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = t.ApiKey(
        namespace_id=ns_id,
        name=name[:128],
        prefix=secret[:12],
        key_hash=hash_key(secret),
        is_admin=is_admin,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return CreatedKey(int(row.id), namespace, row.name, secret, is_admin)


def find_key(session: Session, secret: str, *, now: datetime) -> tuple[t.ApiKey, str]:
    """The live key with this secret and its namespace name.

    Raises:
        AuthenticationFailed: unknown or revoked key.
    """
    row = session.scalar(sa.select(t.ApiKey).where(t.ApiKey.key_hash == hash_key(secret)))
    if row is None or row.revoked_at is not None:
        raise AuthenticationFailed("invalid or revoked API key")
    ns = session.get(t.Namespace, row.namespace_id)
    assert ns is not None
    row.last_used_at = now
    return row, ns.name


def list_keys(session: Session, namespace: str | None = None) -> list[tuple[t.ApiKey, str]]:
    """Keys (without secrets) with their namespace names."""
    stmt = sa.select(t.ApiKey, t.Namespace.name).join(
        t.Namespace, t.Namespace.id == t.ApiKey.namespace_id
    )
    if namespace is not None:
        stmt = stmt.where(t.Namespace.name == namespace)
    return [(k, n) for k, n in session.execute(stmt.order_by(t.ApiKey.id))]


def revoke_key(session: Session, key_id: int, *, now: datetime) -> bool:
    """Revoke a key; returns False when no live key has this id."""
    row = session.get(t.ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True
