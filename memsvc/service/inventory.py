"""Read-only counts for operators: how many memories each user has, per kind."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.store import tables as t
from memsvc.store.db import SQLITE_BEGIN_OPTION
from memsvc.store.records import MODEL_BY_KIND

__all__ = ["counts_by_user", "namespace_names", "scope_keys"]


def counts_by_user(
    begin: Callable[[], AbstractContextManager[Session]], *, namespace_id: int, limit: int = 20
) -> dict[str, dict[str, int]]:
    """Memories per user and kind, for the ``limit`` users with the most events.

    Memories without a user (agent-only scopes) are counted under ``"-"``.
    """
    totals: dict[str, dict[str, int]] = {}
    with begin() as session:
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "DEFERRED"})
        for kind, model in MODEL_BY_KIND.items():
            stmt = (
                sa.select(model.user_id, sa.func.count())
                .where(model.namespace_id == namespace_id)
                .group_by(model.user_id)
            )
            for user_id, n in session.execute(stmt):
                totals.setdefault(user_id or "-", {})[kind.value] = int(n)
    ranked = sorted(totals.items(), key=lambda item: (-item[1].get("event", 0), item[0]))
    return dict(ranked[:limit])


_ENTITY_KEYS = (("user", "user_id"), ("agent", "agent_id"), ("session", "session_id"))


def scope_keys(
    begin: Callable[[], AbstractContextManager[Session]], *, namespace_id: int
) -> list[dict[str, Any]]:
    """Every user, agent and session that has events or facts, with counts and times.

    Each item is ``{"type": "user"|"agent"|"session", "name", "memories", "first_at",
    "last_at"}``, sorted by type then name (mem0's entities listing).
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}
    with begin() as session:
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "DEFERRED"})
        for model, created in ((t.Event, t.Event.ingested_at), (t.Fact, t.Fact.created_at)):
            for kind, column in _ENTITY_KEYS:
                key_col = getattr(model, column)
                stmt = (
                    sa.select(
                        key_col,
                        sa.func.count(),
                        sa.func.min(created),
                        sa.func.max(model.updated_at),
                    )
                    .where(model.namespace_id == namespace_id, key_col.is_not(None))
                    .group_by(key_col)
                )
                for name, n, first, last in session.execute(stmt):
                    item = found.setdefault(
                        (kind, name),
                        {
                            "type": kind,
                            "name": name,
                            "memories": 0,
                            "first_at": first,
                            "last_at": last,
                        },
                    )
                    item["memories"] += int(n)
                    item["first_at"] = min(item["first_at"], first)
                    item["last_at"] = max(item["last_at"], last)
    return [found[k] for k in sorted(found)]


def namespace_names(begin: Callable[[], AbstractContextManager[Session]]) -> list[str]:
    """Every namespace's name, sorted (what an admin may look into)."""
    from memsvc.store.tables import Namespace

    with begin() as session:
        return list(session.scalars(sa.select(Namespace.name).order_by(Namespace.name)))
