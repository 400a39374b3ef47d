"""Operator actions of the service: API keys, pruning, export and import.

A mixin of :class:`memsvc.service.facade.MemoryService`, kept apart so the memory operations stay
readable; every method is still one unit of work followed by an index catch-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memsvc.config import Settings
from memsvc.index.sync import IndexSync
from memsvc.service.inventory import scope_keys
from memsvc.service.prune import DEFAULT_STATUSES, PruneReport, plan_prune
from memsvc.service.transfer import ImportReport, OnConflict, export_records, import_records
from memsvc.store import namespaces as keys
from memsvc.types import Scope, utcnow

__all__ = ["OperationsMixin"]


class OperationsMixin:
    """API keys, prune, export and import (needs the attributes MemoryService sets)."""

    settings: Settings
    indexes: IndexSync
    begin: Callable[[], AbstractContextManager[Session]]
    read: Callable[[], AbstractContextManager[Session]]
    namespace_id: Callable[..., int]

    def authenticate(self, secret: str) -> tuple[str, bool]:
        """The namespace and admin flag of an API key (raises AuthenticationFailed)."""
        with self.begin() as session:
            row, namespace = keys.find_key(session, secret, now=utcnow())
            return namespace, bool(row.is_admin)

    def create_key(
        self, *, namespace: str, name: str = "default", is_admin: bool = False
    ) -> keys.CreatedKey:
        """Create an API key (and its namespace when new); the secret is returned once."""
        with self.begin() as session:
            return keys.create_key(
                session, namespace=namespace, name=name, is_admin=is_admin, now=utcnow()
            )

    def list_keys(self, *, namespace: str | None = None) -> list[dict[str, Any]]:
        """Keys without their secrets."""
        with self.read() as session:
            return [
                {
                    "id": k.id,
                    "namespace": ns,
                    "name": k.name,
                    "prefix": k.prefix,
                    "is_admin": k.is_admin,
                    "created_at": k.created_at,
                    "revoked_at": k.revoked_at,
                    "last_used_at": k.last_used_at,
                }
                for k, ns in keys.list_keys(session, namespace)
            ]

    def scope_keys(self, *, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every user, agent and session of a namespace with events or facts (counts, times).

        Items are ``{"type": "user"|"agent"|"session", "name", "memories", "first_at",
        "last_at"}``, sorted by type and name.
        """
        return scope_keys(self.begin, namespace_id=self.namespace_id(namespace))

    def revoke_key(self, key_id: int) -> bool:
        """Revoke a key; False when no live key has this id."""
        with self.begin() as session:
            return keys.revoke_key(session, key_id, now=utcnow())

    def namespaces(self) -> list[str]:
        """Every namespace's name, sorted (the console shows them to an admin)."""
        from memsvc.service.inventory import namespace_names

        return namespace_names(self.read)

    def users(self, *, namespace: str | None = None, limit: int = 200) -> dict[str, dict[str, int]]:
        """Memories per user and kind, for the ``limit`` users with the most events."""
        from memsvc.service.inventory import counts_by_user

        return counts_by_user(self.read, namespace_id=self.namespace_id(namespace), limit=limit)

    def prune(
        self,
        *,
        scope: Scope | None = None,
        forget_below: float | None = None,
        is_decaying: bool = True,
        older_than: datetime | None = None,
        statuses: Sequence[str] = DEFAULT_STATUSES,
        erase_history: bool = False,
        dry_run: bool = True,
        namespace: str | None = None,
    ) -> PruneReport:
        """Mark decayed facts forgotten and remove old inactive ones; a dry run changes nothing.

        Decay never deletes: it marks facts ``forgotten`` (deterministic threshold on retention).
        Only ``older_than`` removes rows, and only facts in ``statuses``.
        """
        ns_id = self.namespace_id(namespace)
        decay = self.settings.consolidation.decay
        if forget_below is not None:
            decay = decay.model_copy(update={"forget_below": forget_below})
        report = plan_prune(
            self.begin,
            namespace_id=ns_id,
            decay=decay,
            now=utcnow(),
            scope=scope,
            is_decaying=is_decaying,
            older_than=older_than,
            statuses=statuses,
            erase_history=erase_history,
            is_dry_run=dry_run,
        )
        if not dry_run:
            self.indexes.catch_up_after_commit(ns_id)
        return report

    def export(
        self, *, scope: Scope | None = None, namespace: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Stream the namespace (or a scope) as JSON-able dicts: header, rows, footer."""
        name = namespace or self.settings.namespace
        return export_records(
            self.read,
            namespace_id=self.namespace_id(name),
            namespace=name,
            now=utcnow(),
            scope=scope,
        )

    def import_records(
        self,
        records: Iterable[dict[str, Any]],
        *,
        namespace: str | None = None,
        on_conflict: OnConflict = "error",
    ) -> ImportReport:
        """Restore an export (ids kept when free, else shifted consistently), then index it.

        ``on_conflict`` says what to do with rows that exist already: ``error``
        (:class:`AlreadyExists`), ``skip`` or ``replace`` (see
        :func:`memsvc.transfer.import_records`).
        """
        ns_id = self.namespace_id(namespace)
        report = import_records(
            self.begin,
            namespace_id=ns_id,
            records=iter(records),
            now=utcnow(),
            on_conflict=on_conflict,
        )
        self.indexes.catch_up_after_commit(ns_id)
        return report
