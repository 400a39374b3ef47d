"""Pruning: forgetting by decay, and removal of old superseded or forgotten facts.

Nothing is deleted silently (DESIGN.md): decay only marks an active fact ``forgotten`` (it stays
visible in history and with ``include_inactive``); rows are removed only for facts that have
been superseded or forgotten since before a given date, and every removal is recorded in history
(unless the caller asks to erase it) and in the change log, so the indexes follow.

:func:`plan_prune` with ``is_dry_run=True`` computes exactly what :func:`plan_prune` with
``is_dry_run=False`` would do, without writing anything.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.config import DecaySettings
from memsvc.errors import InvalidInput
from memsvc.policies.decay import forget_sweep
from memsvc.store import change_log
from memsvc.store import history as hist
from memsvc.store import memories as repo
from memsvc.store import tables as t
from memsvc.store.records import ORMMemory
from memsvc.types import FactStatus, MemoryKind, MemoryRef, Scope

__all__ = ["PruneReport", "count_scope", "plan_prune"]

logger = logging.getLogger(__name__)

_CHUNK = 500
_ACTOR = "prune"
DEFAULT_STATUSES = (
    FactStatus.SUPERSEDED.value,
    FactStatus.FORGOTTEN.value,
    FactStatus.DELETED.value,
)


@dataclass(frozen=True)
class PruneReport:
    """What a prune did (or, in a dry run, would do).

    Attributes:
        is_dry_run: nothing was written.
        forgotten: ids of active facts whose retention fell below the threshold.
        removed: ids of removed facts, by their status.
        tree_nodes_removed: MemTree leaves that pointed at removed facts.
    """

    is_dry_run: bool
    forgotten: list[int] = field(default_factory=list)
    removed: dict[str, list[int]] = field(default_factory=dict)
    tree_nodes_removed: int = 0

    def counts(self) -> dict[str, int]:
        """Counts only: ``forgotten``, ``removed_<status>`` and ``tree_nodes_removed``."""
        out = {"forgotten": len(self.forgotten)}
        out.update({f"removed_{status}": len(ids) for status, ids in sorted(self.removed.items())})
        out["tree_nodes_removed"] = self.tree_nodes_removed
        return out


def plan_prune(
    begin: Callable[[], AbstractContextManager[Session]],
    *,
    namespace_id: int,
    decay: DecaySettings,
    now: datetime,
    scope: Scope | None = None,
    is_decaying: bool = True,
    older_than: datetime | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    erase_history: bool = False,
    is_dry_run: bool = True,
) -> PruneReport:
    """Apply decay and remove old inactive facts in one transaction (or only plan it).

    Args:
        begin: opens one transaction.
        namespace_id: the tenant.
        decay: ``tau_days`` and ``forget_below`` of the forgetting curve.
        now: the time retention is evaluated at.
        scope: only this scope's facts (default: the whole namespace).
        is_decaying: mark active facts with retention below ``decay.forget_below`` forgotten.
        older_than: remove facts in ``statuses`` whose last change is before this time (no
            removal when ``None``).
        statuses: the fact statuses that may be removed.
        erase_history: remove the removed facts' history instead of recording the removal.
        is_dry_run: compute the report without writing.

    The caller tells the indexes (``IndexSync.catch_up``) after a real run.
    """
    bad = set(statuses) - set(DEFAULT_STATUSES)
    if bad:
        raise InvalidInput(f"cannot remove facts with status {sorted(bad)}; only inactive ones")
    with begin() as session:
        where = _where(t.Fact, namespace_id, scope)
        forgotten = _decayed(session, where=where, cfg=decay, now=now) if is_decaying else []
        removable = (
            _removable(session, where=where, older_than=older_than, statuses=statuses)
            if older_than
            else {}
        )
        leaves = _tree_leaves(session, [i for ids in removable.values() for i in ids])
        report = PruneReport(
            is_dry_run=is_dry_run,
            forgotten=forgotten,
            removed=removable,
            tree_nodes_removed=len(leaves),
        )
        if is_dry_run:
            return report
        _mark_forgotten(session, namespace_id=namespace_id, ids=forgotten, cfg=decay, now=now)
        _remove_leaves(session, namespace_id=namespace_id, leaves=leaves, now=now)
        for status, ids in removable.items():
            _remove_facts(
                session,
                namespace_id=namespace_id,
                ids=ids,
                status=status,
                erase_history=erase_history,
                now=now,
            )
    logger.info("prune of namespace %d: %s", namespace_id, report.counts())
    return report


def count_scope(
    begin: Callable[[], AbstractContextManager[Session]], *, namespace_id: int, scope: Scope
) -> dict[str, int]:
    """How many memories of each kind a scope holds (what erasing it would delete)."""
    with begin() as session:
        return {
            kind.value: len(repo.scope_ids(session, namespace_id, scope, kind))
            for kind in MemoryKind
        }


def _where(
    model: type[ORMMemory], namespace_id: int, scope: Scope | None
) -> sa.ColumnElement[bool]:
    if scope is None:
        clause: sa.ColumnElement[bool] = model.namespace_id == namespace_id
        return clause
    return repo.scope_clause(model, namespace_id, scope)


def _decayed(
    session: Session, *, where: sa.ColumnElement[bool], cfg: DecaySettings, now: datetime
) -> list[int]:
    stmt = sa.select(t.Fact.id, t.Fact.strength, t.Fact.last_recalled_at, t.Fact.created_at).where(
        where,
        t.Fact.status == FactStatus.ACTIVE.value,
        t.Fact.strength > 0,
    )

    def rows() -> Iterator[tuple[int, float, datetime]]:
        for fact_id, strength, last_recalled_at, created_at in session.execute(
            stmt, execution_options={"yield_per": 2_000}
        ):
            yield int(fact_id), float(strength), last_recalled_at or created_at

    return forget_sweep(rows(), now=now, cfg=cfg)


def _removable(
    session: Session,
    *,
    where: sa.ColumnElement[bool],
    older_than: datetime,
    statuses: Sequence[str],
) -> dict[str, list[int]]:
    stmt = (
        sa.select(t.Fact.id, t.Fact.status)
        .where(
            where,
            t.Fact.status.in_(list(statuses)),
            t.Fact.updated_at < older_than,
        )
        .order_by(t.Fact.id)
    )
    out: dict[str, list[int]] = {}
    for fact_id, status in session.execute(stmt):
        out.setdefault(str(status), []).append(int(fact_id))
    return out


def _tree_leaves(session: Session, fact_ids: Sequence[int]) -> list[tuple[int, int | None]]:
    """``(node id, parent id)`` of the MemTree leaves pointing at these facts."""
    out: list[tuple[int, int | None]] = []
    for chunk in _chunks(fact_ids):
        stmt = sa.select(t.TreeNode.id, t.TreeNode.parent_id).where(t.TreeNode.fact_id.in_(chunk))
        out.extend((int(i), None if p is None else int(p)) for i, p in session.execute(stmt))
    return out


def _mark_forgotten(
    session: Session,
    *,
    namespace_id: int,
    ids: Sequence[int],
    cfg: DecaySettings,
    now: datetime,
) -> None:
    reason = f"retention below {cfg.forget_below:g} (tau {cfg.tau_days:g} days)"
    for chunk in _chunks(ids):
        rows = repo.get_rows(session, namespace_id, MemoryKind.FACT, chunk)
        for row in rows.values():
            if not isinstance(row, t.Fact):  # pragma: no cover - get_rows(FACT) yields facts
                continue
            before = hist.snapshot(row)
            row.status = FactStatus.FORGOTTEN.value
            row.updated_at = now
            hist.record_change(
                session,
                namespace_id=namespace_id,
                ref=MemoryRef(MemoryKind.FACT, row.id),
                operation="forget",
                before=before,
                after=hist.snapshot(row),
                reason=reason,
                actor=_ACTOR,
                now=now,
            )
        session.flush()
        change_log.append(
            session,
            namespace_id=namespace_id,
            kind=MemoryKind.FACT,
            memory_ids=chunk,
            op="upsert",
            now=now,
        )


def _remove_facts(
    session: Session,
    *,
    namespace_id: int,
    ids: Sequence[int],
    status: str,
    erase_history: bool,
    now: datetime,
) -> None:
    for chunk in _chunks(ids):
        # facts that point at a removed fact keep their own status; only the link goes
        session.execute(
            sa.update(t.Fact).where(t.Fact.superseded_by.in_(chunk)).values(superseded_by=None)
        )
        if erase_history:
            hist.erase_history(session, namespace_id, MemoryKind.FACT, chunk)
        else:
            rows = repo.get_rows(session, namespace_id, MemoryKind.FACT, chunk)
            for row in rows.values():
                hist.record_change(
                    session,
                    namespace_id=namespace_id,
                    ref=MemoryRef(MemoryKind.FACT, row.id),
                    operation="delete",
                    before=hist.snapshot(row),
                    after=None,
                    reason=f"pruned: {status}",
                    actor=_ACTOR,
                    now=now,
                )
        session.flush()
        repo.delete_rows(session, namespace_id, MemoryKind.FACT, chunk)
        change_log.append(
            session,
            namespace_id=namespace_id,
            kind=MemoryKind.FACT,
            memory_ids=chunk,
            op="delete",
            now=now,
        )


def _remove_leaves(
    session: Session,
    *,
    namespace_id: int,
    leaves: Sequence[tuple[int, int | None]],
    now: datetime,
) -> None:
    """Delete leaves (the foreign key would cascade silently; the index must hear of it)."""
    if not leaves:
        return
    ids = [node_id for node_id, _ in leaves]
    repo.delete_rows(session, namespace_id, MemoryKind.TREE_NODE, ids)
    for parent_id, n in Counter(p for _, p in leaves if p is not None).items():
        remaining = t.TreeNode.child_count - n
        session.execute(
            sa.update(t.TreeNode)
            .where(t.TreeNode.id == parent_id)
            .values(child_count=sa.case((remaining < 0, 0), else_=remaining))
        )
    for chunk in _chunks(ids):
        change_log.append(
            session,
            namespace_id=namespace_id,
            kind=MemoryKind.TREE_NODE,
            memory_ids=chunk,
            op="delete",
            now=now,
        )


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])
