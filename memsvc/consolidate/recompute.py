"""Following sources: what a delete, an update or an erase does to the memories derived from them.

:func:`remove_sources` (in the caller's transaction) walks the lineage graph
(:mod:`memsvc.store.lineage`) from the removed memories: a dependant whose every source is gone
is deleted too; one with other sources left is marked *stale*, which takes it out of the indexes
at once. :func:`mark_changed` does the same for a changed text (``PATCH``): a MemTree leaf that
copies the text takes the new one, everything above is stale.

:class:`Recomputer` resolves an owner's stale marks in the background (from the consolidation
job queued for the owner):

- ``rebuild`` (a source event changed): the owner's derived memory (episodes, facts, summaries,
  tree nodes, registered derived rows) is dropped and the remaining events are consolidated again
  scope by scope, in the order they were first told, exactly as a fresh consolidation would;
- ``refresh`` (a derived source changed): stale tree nodes are re-aggregated from the leaves
  below them, stale summaries are dropped and written again by the summary step.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.graph import entities as entity_graph
from memsvc.index.documents import index_text
from memsvc.llm.base import LLMTasks
from memsvc.store import change_log, lineage
from memsvc.store import history as hist
from memsvc.store import tables as t
from memsvc.store.jobs import scope_key
from memsvc.store.memories import get_rows, scope_clause
from memsvc.store.records import MODEL_BY_KIND, ORMMemory, content_of
from memsvc.types import MemoryKind, MemoryRef, Scope, utcnow

__all__ = ["Recomputer", "RemovalReport", "mark_changed", "owner_scope", "remove_sources"]

logger = logging.getLogger(__name__)

_MEMORY_KINDS = {k.value for k in MemoryKind}
# Children before parents, derived before sources: foreign keys never see a dangling row.
_DELETE_ORDER = (
    MemoryKind.TREE_NODE,
    MemoryKind.SUMMARY,
    MemoryKind.FACT,
    MemoryKind.EPISODE,
    MemoryKind.EVENT,
)
_TEXT_FIELDS = ("content", "text", "summary", "object")


def owner_scope(row: Any) -> Scope:
    """Whose long-term memory a row belongs to (the same rule as the pipeline's ``owner_of``)."""
    if row.user_id is None and row.agent_id is None:
        return Scope(user_id=row.user_id, agent_id=row.agent_id, session_id=row.session_id)
    return Scope(user_id=row.user_id, agent_id=row.agent_id)


@dataclass
class RemovalReport:
    """What a removal did, per store; ``texts`` only when asked for (purges)."""

    removed: Counter[str] = field(default_factory=Counter)
    stale: Counter[str] = field(default_factory=Counter)
    history: int = 0
    lineage: int = 0
    owners: dict[str, Scope] = field(default_factory=dict)
    texts: set[str] = field(default_factory=set)

    def merge(self, other: RemovalReport) -> None:
        """Add ``other``'s counts to this report."""
        self.removed.update(other.removed)
        self.stale.update(other.stale)
        self.history += other.history
        self.lineage += other.lineage
        self.owners.update(other.owners)
        self.texts |= other.texts


def remove_sources(
    session: Session,
    namespace_id: int,
    refs: Iterable[MemoryRef | lineage.Ref],
    *,
    now: datetime,
    erase_history: bool,
    actor: str = "user",
    reason: str = "deleted by client",
    collect_texts: bool = False,
) -> RemovalReport:
    """Delete ``refs`` and follow them through lineage (see the module docstring).

    Raises:
        nothing for unknown refs: rows that do not exist are skipped.
    """
    start = {lineage.ref_of(r) if isinstance(r, MemoryRef) else r for r in refs}
    report = RemovalReport()
    if not start:
        return report
    below = lineage.descendants(session, namespace_id, start)
    srcs = lineage.sources(session, namespace_id, below)
    removed = set(start)
    changed = True
    while changed:
        changed = False
        for ref in below - removed:
            have = srcs.get(ref, set())
            if have and have <= removed:
                removed.add(ref)
                changed = True
    stale = below - removed
    rebuild = any(kind == MemoryKind.EVENT.value for kind, _ in start)
    rows = _load(session, namespace_id, removed | stale)
    if collect_texts:
        report.texts |= _texts(session, namespace_id, removed, rows)
    _delete(
        session,
        namespace_id,
        removed,
        rows,
        report,
        now=now,
        erase_history=erase_history,
        actor=actor,
        reason=reason,
        explicit=start,
    )
    _clear_outdated_marks(session, namespace_id, removed)
    _mark(
        session,
        namespace_id,
        stale,
        rows,
        report,
        now=now,
        rebuild=rebuild,
        removed_rows=[rows[r] for r in start if r in rows],
    )
    if erase_history:
        # A stale memory is about to be replaced; its history still tells the removed text.
        for kind in MemoryKind:
            ids = sorted(i for k, i in stale if k == kind.value)
            if ids:
                report.history += hist.erase_history(session, namespace_id, kind, ids)
    # Entity mentions went with their events and facts (ON DELETE CASCADE); an entity that
    # nothing mentions any more goes too (the entity graph is derived like the rest).
    session.flush()
    entity_graph.drop_orphans(session, namespace_id)
    return report


def mark_changed(
    session: Session, namespace_id: int, row: ORMMemory, *, now: datetime
) -> RemovalReport:
    """After ``row``'s text changed: leaf copies follow, every other dependant becomes stale."""
    ref = lineage.ref_of(MemoryRef(_kind_of(row), row.id))
    report = RemovalReport()
    below = lineage.descendants(session, namespace_id, [ref])
    if not below:
        return report
    rows = _load(session, namespace_id, below)
    copies = {
        r
        for r, node in rows.items()
        if isinstance(node, t.TreeNode)
        and (
            (isinstance(row, t.Fact) and node.fact_id == row.id)
            or (isinstance(row, t.Episode) and node.episode_id == row.id)
        )
    }
    for r in copies:
        node = rows[r]
        assert isinstance(node, t.TreeNode)
        node.content = content_of(row)
        node.updated_at = now
    if copies:
        change_log.append(
            session,
            namespace_id=namespace_id,
            kind=MemoryKind.TREE_NODE,
            memory_ids=sorted(i for _, i in copies),
            op="upsert",
            now=now,
        )
    _mark(
        session,
        namespace_id,
        below - copies,
        rows,
        report,
        now=now,
        rebuild=isinstance(row, t.Event),
        removed_rows=[row],
    )
    return report


# -- removal steps -------------------------------------------------------------------------


def _kind_of(row: ORMMemory) -> MemoryKind:
    for kind, model in MODEL_BY_KIND.items():
        if isinstance(row, model):
            return kind
    raise TypeError(type(row).__name__)  # pragma: no cover


def _load(
    session: Session, namespace_id: int, refs: Iterable[lineage.Ref]
) -> dict[lineage.Ref, Any]:
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, rid in refs:
        by_kind[kind].append(rid)
    out: dict[lineage.Ref, Any] = {}
    for kind, ids in by_kind.items():
        if kind not in _MEMORY_KINDS:
            continue
        for rid, row in get_rows(session, namespace_id, MemoryKind(kind), ids).items():
            out[(kind, rid)] = row
    return out


def _texts(
    session: Session, namespace_id: int, refs: set[lineage.Ref], rows: dict[lineage.Ref, Any]
) -> set[str]:
    """Every text the removed memories hold or held (rows, history, registered tables)."""
    out: set[str] = set()
    by_kind: dict[str, list[int]] = defaultdict(list)
    for ref in refs:
        by_kind[ref[0]].append(ref[1])
        row = rows.get(ref)
        if row is not None:
            out.add(content_of(row))
            out.add(index_text(row))
            if isinstance(row, t.Event):
                out.add(row.content)
    for kind, ids in by_kind.items():
        if kind in _MEMORY_KINDS:
            out |= history_texts(session, namespace_id, MemoryKind(kind), ids)
        elif (hook := lineage.registered().get(kind)) is not None and hook.texts is not None:
            out.update(hook.texts(session, namespace_id, ids))
    return {x for x in out if x}


def history_texts(
    session: Session, namespace_id: int, kind: MemoryKind, ids: Sequence[int]
) -> set[str]:
    """The texts recorded in the history of memories (before/after snapshots)."""
    out: set[str] = set()
    for start in range(0, len(ids), 500):
        stmt = sa.select(t.History.before, t.History.after).where(
            t.History.namespace_id == namespace_id,
            t.History.memory_kind == kind.value,
            t.History.memory_id.in_(list(ids[start : start + 500])),
        )
        for before, after in session.execute(stmt):
            for snap in (before, after):
                if isinstance(snap, dict):
                    out.update(str(snap[f]) for f in _TEXT_FIELDS if snap.get(f))
    return out


def _delete(
    session: Session,
    namespace_id: int,
    removed: set[lineage.Ref],
    rows: dict[lineage.Ref, Any],
    report: RemovalReport,
    *,
    now: datetime,
    erase_history: bool,
    actor: str,
    reason: str,
    explicit: set[lineage.Ref],
    record_history: bool = True,
) -> None:
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, rid in removed:
        by_kind[kind].append(rid)
    for kind, ids in by_kind.items():
        if kind not in _MEMORY_KINDS and (hook := lineage.registered().get(kind)) is not None:
            report.removed[kind] += hook.delete(session, namespace_id, sorted(ids))
    tree_removed = {rid for kind, rid in removed if kind == MemoryKind.TREE_NODE.value}
    for (kind, _), row in rows.items():
        if (
            kind == MemoryKind.TREE_NODE.value
            and row.id in tree_removed
            and row.parent_id is not None
        ):
            parent = session.get(t.TreeNode, row.parent_id)
            if parent is not None and parent.id not in tree_removed:
                parent.child_count = max(0, parent.child_count - 1)
    for kind in _DELETE_ORDER:
        ids = sorted(i for k, i in removed if k == kind.value and (k, i) in rows)
        if not ids:
            continue
        if not erase_history and record_history:
            for rid in ids:
                row = rows[(kind.value, rid)]
                hist.record_change(
                    session,
                    namespace_id=namespace_id,
                    ref=MemoryRef(kind, rid),
                    operation="delete",
                    before=hist.snapshot(row),
                    after=None,
                    reason=reason if (kind.value, rid) in explicit else "its sources were deleted",
                    actor=actor if (kind.value, rid) in explicit else "lineage",
                    now=now,
                )
        for rid in ids:
            session.expunge(rows[(kind.value, rid)])
        model = MODEL_BY_KIND[kind]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            if kind is MemoryKind.TREE_NODE:
                session.execute(
                    sa.update(t.TreeNode)
                    .where(t.TreeNode.parent_id.in_(chunk))
                    .values(parent_id=None)
                )
            if kind is MemoryKind.FACT:
                session.execute(
                    sa.update(t.Fact)
                    .where(t.Fact.superseded_by.in_(chunk))
                    .values(superseded_by=None)
                )
            result = session.execute(
                sa.delete(model).where(model.namespace_id == namespace_id, model.id.in_(chunk))
            )
            report.removed[kind.value] += int(getattr(result, "rowcount", 0) or 0)
        if erase_history:
            report.history += hist.erase_history(session, namespace_id, kind, ids)
        change_log.append(
            session, namespace_id=namespace_id, kind=kind, memory_ids=ids, op="delete", now=now
        )
    report.lineage += lineage.drop(session, namespace_id, removed)
    lineage.clear_stale(session, namespace_id, removed)


def _mark(
    session: Session,
    namespace_id: int,
    stale: set[lineage.Ref],
    rows: dict[lineage.Ref, Any],
    report: RemovalReport,
    *,
    now: datetime,
    rebuild: bool,
    removed_rows: Sequence[Any],
) -> None:
    if not stale:
        return
    mode = lineage.REBUILD if rebuild else lineage.REFRESH
    by_owner: dict[str, list[lineage.Ref]] = defaultdict(list)
    fallback = owner_scope(removed_rows[0]) if removed_rows else None
    for ref in stale:
        row = rows.get(ref)
        owner = owner_scope(row) if row is not None else fallback
        if owner is None:
            continue
        key = scope_key(owner)
        report.owners[key] = owner
        by_owner[key].append(ref)
    for key, refs in by_owner.items():
        lineage.mark_stale(session, namespace_id, refs, owner_key=key, mode=mode, now=now)
        for kind, count in Counter(k for k, _ in refs).items():
            report.stale[kind] += count
    for kind in MemoryKind:
        ids = sorted(i for k, i in stale if k == kind.value)
        if ids:
            change_log.append(
                session, namespace_id=namespace_id, kind=kind, memory_ids=ids, op="delete", now=now
            )


# -- recompute -----------------------------------------------------------------------------


class Recomputer:
    """Resolves an owner's stale marks; see the module docstring."""

    def __init__(
        self,
        *,
        begin: Callable[[], AbstractContextManager[Session]],
        llm: LLMTasks,
    ) -> None:
        self._begin = begin
        self._llm = llm

    def pending(self, namespace_id: int, owner: Scope) -> bool:
        """Whether the owner has stale memories."""
        with self._begin() as session:
            return bool(lineage.stale_of_owner(session, namespace_id, scope_key(owner)))

    def recompute(
        self,
        namespace_id: int,
        owner: Scope,
        consolidate: Callable[[Scope], None],
        *,
        purge: bool = False,
    ) -> RemovalReport:
        """Resolve the owner's stale marks; ``consolidate`` runs the pipeline on one scope.

        With ``purge`` the history of every replaced row is erased and its texts are returned.
        """
        report = RemovalReport()
        with self._begin() as session:
            marks = lineage.stale_of_owner(session, namespace_id, scope_key(owner))
        if not marks:
            return report
        if any(m.mode == lineage.REBUILD for m in marks) or any(
            m.ref[0] in (MemoryKind.EPISODE.value, MemoryKind.FACT.value) for m in marks
        ):
            scopes = self._drop_owner(namespace_id, owner, report, purge=purge)
            for scope in scopes:
                consolidate(scope)
        else:
            self._refresh(namespace_id, marks, report, purge=purge)
        logger.debug("recomputed an owner in namespace %d: %s", namespace_id, dict(report.removed))
        return report

    def _drop_owner(
        self, namespace_id: int, owner: Scope, report: RemovalReport, *, purge: bool
    ) -> list[Scope]:
        """Delete the owner's derived memory; return the event scopes to consolidate again."""
        now = utcnow()
        key = scope_key(owner)
        with self._begin() as session:
            refs: set[lineage.Ref] = set()
            for kind in (
                MemoryKind.TREE_NODE,
                MemoryKind.SUMMARY,
                MemoryKind.FACT,
                MemoryKind.EPISODE,
            ):
                model = MODEL_BY_KIND[kind]
                ids = session.scalars(
                    sa.select(model.id).where(scope_clause(model, namespace_id, owner))
                )
                refs.update((kind.value, int(i)) for i in ids)
            for mark in lineage.stale_of_owner(session, namespace_id, key):
                if mark.ref[0] not in _MEMORY_KINDS:
                    refs.add(mark.ref)
            rows = _load(session, namespace_id, refs)
            if purge:
                report.texts |= _texts(session, namespace_id, refs, rows)
            session.execute(
                sa.update(t.Event)
                .where(scope_clause(t.Event, namespace_id, owner))
                .values(episode_id=None)
            )
            _delete(
                session,
                namespace_id,
                refs,
                rows,
                report,
                now=now,
                erase_history=True,  # replaced rows: their history would outlive them
                actor="lineage",
                reason="recomputed from its remaining sources",
                explicit=set(),
                record_history=False,
            )
            lineage.clear_stale(
                session,
                namespace_id,
                [m.ref for m in lineage.stale_of_owner(session, namespace_id, key)],
            )
            first = (
                sa.select(
                    t.Event.user_id,
                    t.Event.agent_id,
                    t.Event.session_id,
                    sa.func.min(t.Event.id).label("first"),
                )
                .where(scope_clause(t.Event, namespace_id, owner))
                .group_by(t.Event.user_id, t.Event.agent_id, t.Event.session_id)
                .order_by(sa.text("first"))
            )
            return [
                Scope(user_id=u, agent_id=a, session_id=s) for u, a, s, _ in session.execute(first)
            ]

    def _refresh(
        self,
        namespace_id: int,
        marks: Sequence[lineage.StaleMark],
        report: RemovalReport,
        *,
        purge: bool,
    ) -> None:
        now = utcnow()
        tree_ids = [m.ref[1] for m in marks if m.ref[0] == MemoryKind.TREE_NODE.value]
        other = [m.ref for m in marks if m.ref[0] != MemoryKind.TREE_NODE.value]
        contents: dict[int, tuple[str, int]] = {}
        empty: list[int] = []
        with self._begin() as session:
            nodes = {
                nid: (getattr(n, "parent_id", None), content_of(n))
                for nid, n in get_rows(
                    session, namespace_id, MemoryKind.TREE_NODE, tree_ids
                ).items()
            }
            leaves_of = {nid: _leaves(session, nid) for nid in nodes}
        for nid, (parent_id, _) in nodes.items():
            leaves = leaves_of[nid]
            if not leaves:
                empty.append(nid)
            elif parent_id is None:
                contents[nid] = ("", len(leaves))
            else:
                text = leaves[0]
                for n, leaf in enumerate(leaves[1:], start=1):
                    text = self._llm.aggregate(text, leaf, n)
                contents[nid] = (text, len(leaves))
        with self._begin() as session:
            if purge:
                report.texts |= history_texts(session, namespace_id, MemoryKind.TREE_NODE, tree_ids)
                report.texts.update(c for _, c in nodes.values() if c)
            refs = {(MemoryKind.TREE_NODE.value, i) for i in empty} | set(other)
            rows = _load(session, namespace_id, refs)
            if purge:
                report.texts |= _texts(session, namespace_id, refs, rows)
            _delete(
                session,
                namespace_id,
                refs,
                rows,
                report,
                now=now,
                erase_history=True,  # replaced rows: their history would outlive them
                actor="lineage",
                reason="recomputed from its remaining sources",
                explicit=set(),
                record_history=False,
            )
            for nid, (text, count) in contents.items():
                found = session.get(t.TreeNode, nid)
                if found is None:
                    continue
                node = found
                before = hist.snapshot(node)
                node.content = text
                node.entry_count = count
                node.child_count = int(
                    session.scalar(
                        sa.select(sa.func.count())
                        .select_from(t.TreeNode)
                        .where(t.TreeNode.parent_id == nid)
                    )
                    or 0
                )
                node.updated_at = now
                if not purge:
                    hist.record_change(
                        session,
                        namespace_id=namespace_id,
                        ref=MemoryRef(MemoryKind.TREE_NODE, nid),
                        operation="update",
                        before=before,
                        after=hist.snapshot(node),
                        reason="re-aggregated from its remaining sources",
                        actor="lineage",
                        now=now,
                    )
                elif before.get("content"):
                    report.texts.add(str(before["content"]))
            if purge:
                report.history += sum(
                    hist.erase_history(session, namespace_id, MemoryKind.TREE_NODE, [nid])
                    for nid in contents
                )
            if contents:
                change_log.append(
                    session,
                    namespace_id=namespace_id,
                    kind=MemoryKind.TREE_NODE,
                    memory_ids=sorted(contents),
                    op="upsert",
                    now=now,
                )
            lineage.clear_stale(session, namespace_id, [m.ref for m in marks])


def _leaves(session: Session, node_id: int) -> list[str]:
    """The texts of the leaves under a node, in the order they were inserted."""
    out: list[tuple[datetime, int, str]] = []
    frontier = [node_id]
    while frontier:
        rows = session.execute(
            sa.select(
                t.TreeNode.id,
                t.TreeNode.fact_id,
                t.TreeNode.episode_id,
                t.TreeNode.content,
                t.TreeNode.occurred_at,
            ).where(t.TreeNode.parent_id.in_(frontier))
        ).all()
        frontier = []
        for nid, fact_id, episode_id, content, when in rows:
            if fact_id is not None or episode_id is not None:
                out.append((when, int(nid), content))
            else:
                frontier.append(int(nid))
    if not out:
        node = session.get(t.TreeNode, node_id)
        if node is not None and (node.fact_id is not None or node.episode_id is not None):
            return [node.content]
    out.sort(key=lambda x: (x[0], x[1]))
    return [c for _, _, c in out]


def _clear_outdated_marks(session: Session, namespace_id: int, removed: set[lineage.Ref]) -> None:
    """Events marked as stating a value that a removed fact superseded are no longer outdated.

    ``event.outdated_by`` is derived from the superseding fact: when that fact goes, the mark
    (and the ranking penalty and attribute it brings) goes with it.
    """
    facts = sorted(i for kind, i in removed if kind == MemoryKind.FACT.value)
    for start in range(0, len(facts), 500):
        session.execute(
            sa.update(t.Event)
            .where(
                t.Event.namespace_id == namespace_id,
                t.Event.outdated_by.in_(facts[start : start + 500]),
            )
            .values(outdated_by=None)
        )
