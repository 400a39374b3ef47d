"""Applying update-policy plans (memsvc.policies.update.FactPlan) to the fact table.

Every write records a history row and a change-log row, so the indexes and ``history(id)``
always see the same story.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.policies.decay import reinforce
from memsvc.policies.update import FactInsert, FactPlan
from memsvc.store import change_log
from memsvc.store import history as hist
from memsvc.store import tables as t
from memsvc.types import FactStatus, MemoryKind, MemoryRef, Scope, merge_ids

__all__ = ["apply_plan", "mark_outdated"]

_ACTOR = "consolidation"


def apply_plan(
    session: Session,
    plan: FactPlan,
    *,
    namespace_id: int,
    owner: Scope,
    episode_id: int | None,
    now: datetime,
) -> list[int]:
    """Apply one plan in the caller's transaction; returns the ids of facts it inserted."""
    inserted: list[int] = []
    touched: list[int] = []
    if plan.insert is not None:
        row = _insert(
            session,
            plan.insert,
            namespace_id=namespace_id,
            owner=owner,
            episode_id=episode_id,
            now=now,
        )
        inserted.append(row.id)
        touched.append(row.id)
        _history(session, namespace_id, row, "add", None, plan.reason, now)
        if row.superseded_by is not None:
            mark_outdated(session, row.source_event_ids or (), by=row.superseded_by, keep=())
    if plan.supersede is not None:
        target = _target(session, namespace_id, plan.supersede.target_id)
        before = hist.snapshot(target)
        target.valid_to = plan.supersede.valid_to
        target.status = FactStatus.SUPERSEDED.value
        target.superseded_by = inserted[0] if inserted else None
        target.updated_at = now
        touched.append(target.id)
        _history(session, namespace_id, target, "invalidate", before, plan.reason, now)
        if inserted:
            new_sources = plan.insert.source_event_ids if plan.insert else ()
            mark_outdated(session, target.source_event_ids or (), by=inserted[0], keep=new_sources)
    for cut in plan.reclose:
        if not inserted:
            break
        target = _target(session, namespace_id, cut.target_id)
        before = hist.snapshot(target)
        target.valid_to = cut.valid_to
        target.status = FactStatus.SUPERSEDED.value
        target.superseded_by = inserted[0]
        target.updated_at = now
        touched.append(target.id)
        _history(session, namespace_id, target, "invalidate", before, plan.reason, now)
    if plan.reinforce is not None:
        target = _target(session, namespace_id, plan.reinforce.target_id)
        before = hist.snapshot(target)
        target.strength, target.recall_count = reinforce(target.strength, target.recall_count)
        last = target.last_recalled_at
        mentioned = plan.reinforce.mentioned_at
        target.last_recalled_at = mentioned if last is None or mentioned > last else last
        target.importance = max(target.importance, plan.reinforce.importance)
        target.source_event_ids = list(
            merge_ids(target.source_event_ids or (), plan.reinforce.source_event_ids)
        )
        target.updated_at = now
        touched.append(target.id)
        _history(session, namespace_id, target, "merge", before, plan.reason, now)
    if plan.rewrite is not None:
        target = _target(session, namespace_id, plan.rewrite.target_id)
        before = hist.snapshot(target)
        target.text = plan.rewrite.text
        for name in ("subject", "predicate", "object"):
            value = getattr(plan.rewrite, name)
            if value is not None:
                setattr(target, name, value)
        target.source_event_ids = list(
            merge_ids(target.source_event_ids or (), plan.rewrite.source_event_ids)
        )
        target.updated_at = now
        touched.append(target.id)
        _history(session, namespace_id, target, "update", before, plan.reason, now)
    if touched:
        change_log.append(
            session,
            namespace_id=namespace_id,
            kind=MemoryKind.FACT,
            memory_ids=touched,
            op="upsert",
            now=now,
        )
    return inserted


def _insert(
    session: Session,
    spec: FactInsert,
    *,
    namespace_id: int,
    owner: Scope,
    episode_id: int | None,
    now: datetime,
) -> t.Fact:
    row = t.Fact(
        namespace_id=namespace_id,
        **owner.as_dict(),
        text=spec.text,
        subject=spec.subject,
        predicate=spec.predicate,
        object=spec.object,
        relation=spec.relation,
        value_type=spec.value_type,
        source_event_ids=list(spec.source_event_ids),
        episode_id=episode_id,
        meta={"negated": True} if spec.negated else {},
        importance=spec.importance,
        strength=spec.strength,
        recall_count=0,
        last_recalled_at=None,
        valid_from=spec.valid_from,
        valid_to=spec.valid_to,
        status=spec.status.value,
        superseded_by=spec.superseded_by,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def mark_outdated(
    session: Session, event_ids: Sequence[int], *, by: int, keep: Sequence[int]
) -> None:
    """Mark ``event_ids`` (but not ``keep``) as stating a value that fact ``by`` superseded.

    An event already marked keeps its first mark; the read path ranks marked events below the
    current fact and says on their hits which fact replaced what they state.
    """
    wanted = sorted(set(event_ids) - set(keep))
    if not wanted:
        return
    session.execute(
        sa.update(t.Event)
        .where(t.Event.id.in_(wanted), t.Event.outdated_by.is_(None))
        .values(outdated_by=by)
    )


def _target(session: Session, namespace_id: int, fact_id: int) -> t.Fact:
    row = session.get(t.Fact, fact_id)
    if row is None or row.namespace_id != namespace_id:
        raise LookupError(f"fact {fact_id} named by a plan does not exist")
    return row


def _history(
    session: Session,
    namespace_id: int,
    row: t.Fact,
    operation: str,
    before: dict[str, object] | None,
    reason: str,
    now: datetime,
) -> None:
    hist.record_change(
        session,
        namespace_id=namespace_id,
        ref=MemoryRef(MemoryKind.FACT, row.id),
        operation=operation,
        before=before,
        after=hist.snapshot(row),
        reason=reason,
        actor=_ACTOR,
        now=now,
    )
