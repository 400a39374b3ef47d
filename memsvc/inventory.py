"""Read-only counts for operators: how many memories each user has, per kind."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.store.db import SQLITE_BEGIN_OPTION
from memsvc.store.records import MODEL_BY_KIND

__all__ = ["counts_by_user", "namespace_names"]


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


def namespace_names(begin: Callable[[], AbstractContextManager[Session]]) -> list[str]:
    """Every namespace's name, sorted (what an admin may look into)."""
    from memsvc.store.tables import Namespace

    with begin() as session:
        return list(session.scalars(sa.select(Namespace.name).order_by(Namespace.name)))
