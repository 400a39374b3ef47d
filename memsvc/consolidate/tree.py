"""The MemTree on the ``tree_node`` table: a TreeView over SQL and the insertion step.

Planning is pure logic (memsvc.policies.memtree); this module reads one owner's tree for it,
runs the ancestor re-aggregation (in parallel, outside any write transaction) and applies the
plan in one transaction, with change-log rows so re-aggregated nodes are re-embedded and
re-indexed. Items waiting for the tree are found from the data (active facts and summarised
episodes without a leaf), so an interrupted run is finished by the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.config import MemTreeSettings
from memsvc.embed.cache import CachedEmbedder
from memsvc.errors import LimitExceeded
from memsvc.index.persist import persist_vectors
from memsvc.index.sync import IndexSync
from memsvc.llm.base import LLMTasks
from memsvc.policies.memtree import InsertPlan, NodeView, aggregate_path, plan_insert
from memsvc.store import change_log, lineage
from memsvc.store import tables as t
from memsvc.store.jobs import scope_key
from memsvc.store.memories import scope_clause
from memsvc.types import FactStatus, MemoryKind, Scope, utcnow

__all__ = ["SqlTreeView", "TreeBuilder"]

logger = logging.getLogger(__name__)

_BATCH = 200
_REPLANS = 3


@dataclass(frozen=True)
class _Item:
    fact_id: int | None
    episode_id: int | None
    text: str
    occurred_at: datetime
    source_event_ids: tuple[int, ...]


class SqlTreeView:
    """One owner's tree read from SQL, node embeddings from the embedding cache."""

    def __init__(
        self, session: Session, *, namespace_id: int, owner: Scope, embedder: CachedEmbedder
    ) -> None:
        self._session = session
        self._ns = namespace_id
        self._owner = owner
        self._owner_key = scope_key(owner)
        self._embedder = embedder

    def root(self) -> NodeView:
        """The owner's root, created when missing."""
        row = self._session.scalar(
            sa.select(t.TreeNode).where(
                t.TreeNode.namespace_id == self._ns,
                t.TreeNode.owner_key == self._owner_key,
                t.TreeNode.parent_id.is_(None),
            )
        )
        if row is None:
            now = utcnow()
            row = t.TreeNode(
                namespace_id=self._ns,
                **self._owner.as_dict(),
                owner_key=self._owner_key,
                parent_id=None,
                depth=0,
                content="",
                child_count=0,
                entry_count=0,
                source_event_ids=[],
                occurred_at=now,
                created_at=now,
                updated_at=now,
            )
            self._session.add(row)
            self._session.flush()
        return NodeView(row.id, 0, "", None, is_leaf=False, entry_count=row.entry_count)

    def children_of(self, node_id: int) -> list[NodeView]:
        """Children with their embeddings (cached by text, so repeated walks are cheap)."""
        rows = list(
            self._session.scalars(
                sa.select(t.TreeNode).where(t.TreeNode.parent_id == node_id).order_by(t.TreeNode.id)
            )
        )
        if not rows:
            return []
        vectors = self._embedder.embed([r.content for r in rows])
        return [
            NodeView(
                id=r.id,
                depth=r.depth,
                content=r.content,
                embedding=vectors[i],
                is_leaf=r.fact_id is not None or r.episode_id is not None,
                entry_count=max(r.entry_count, 1),
            )
            for i, r in enumerate(rows)
        ]


class TreeBuilder:
    """Inserts an owner's pending facts and episode summaries into its MemTree."""

    def __init__(
        self,
        *,
        cfg: MemTreeSettings,
        begin: Callable[[], AbstractContextManager[Session]],
        embedder: CachedEmbedder,
        llm: LLMTasks,
        indexes: IndexSync,
        read: Callable[[], AbstractContextManager[Session]] | None = None,
    ) -> None:
        self._cfg = cfg
        self._begin = begin
        self._read = read or begin
        self._embedder = embedder
        self._llm = llm
        self._indexes = indexes

    def insert_pending(self, namespace_id: int, owner: Scope) -> int:
        """Insert every item of ``owner`` that has no leaf yet; returns how many.

        One write transaction per batch of up to 200 items (a job's usual share), not two per
        item: each item is planned against the tree as the earlier items of the batch left it
        (same session, flushed), and the change log gets one entry for the batch. The
        aggregation calls of the LLM run inside that transaction: fast with the offline tasks;
        with a remote model the batch holds SQLite's writer lock for their duration.
        """
        done = 0
        while True:
            with self._begin() as session:
                items = _pending(session, namespace_id, owner)
            if not items:
                break
            self._embedder.embed([item.text for item in items])  # one batch warms the cache
            with self._begin() as session:  # the root exists before planning only reads
                SqlTreeView(
                    session, namespace_id=namespace_id, owner=owner, embedder=self._embedder
                ).root()
            for item in items:
                if self._insert(namespace_id, owner, item):
                    done += 1
            if len(items) < _BATCH:
                break
        return done

    def rebuild(self, namespace_id: int, owner: Scope) -> int:
        """Drop the owner's tree and build it again from its active facts and episodes.

        The old nodes are deleted (and removed from the indexes through the change log) in one
        transaction; the new tree is then grown item by item in event-time order.
        """
        owner_key = scope_key(owner)
        with self._begin() as session:
            ids = [
                int(i)
                for i in session.scalars(
                    sa.select(t.TreeNode.id).where(
                        t.TreeNode.namespace_id == namespace_id, t.TreeNode.owner_key == owner_key
                    )
                )
            ]
            if ids:
                session.execute(
                    sa.update(t.TreeNode)
                    .where(t.TreeNode.id.in_(ids))
                    .values(parent_id=None, fact_id=None, episode_id=None)
                )
                session.execute(sa.delete(t.TreeNode).where(t.TreeNode.id.in_(ids)))
                change_log.append(
                    session,
                    namespace_id=namespace_id,
                    kind=MemoryKind.TREE_NODE,
                    memory_ids=ids,
                    op="delete",
                    now=utcnow(),
                )
        self._indexes.catch_up_after_commit(namespace_id)
        return self.insert_pending(namespace_id, owner)

    def _insert(self, namespace_id: int, owner: Scope, item: _Item) -> bool:
        """Plan the insertion (reads, model calls), then apply it in a short transaction.

        The apply re-checks the plan (the item still has no leaf, the nodes it names are still
        there); a stale plan is made again, an item that got its leaf meanwhile is skipped.
        """
        for _ in range(_REPLANS):
            vector = self._embedder.embed([item.text])[0]
            with self._read() as session:
                view = SqlTreeView(
                    session, namespace_id=namespace_id, owner=owner, embedder=self._embedder
                )
                try:
                    plan = plan_insert(view, vector, self._cfg)
                except LimitExceeded:
                    logger.warning("memory tree of an owner is full; item left out of the tree")
                    return False
            contents = aggregate_path(plan, self._llm, item.text)
            if contents:
                self._embedder.embed(list(contents.values()))  # the model runs outside the write
            with self._begin() as session:
                state = _check_plan(session, plan, item)
                if state == "done":
                    return False
                if state == "stale":
                    continue
                touched = _apply(
                    session, plan, item, contents=contents, namespace_id=namespace_id, owner=owner
                )
                persist_vectors(session, self._embedder, list(contents.values()))
                lineage.record_tree_nodes(
                    session, namespace_id, [*touched, plan.parent_id, *_expanded(plan)]
                )
                change_log.append(
                    session,
                    namespace_id=namespace_id,
                    kind=MemoryKind.TREE_NODE,
                    memory_ids=touched,
                    op="upsert",
                    now=utcnow(),
                )
            return True
        logger.warning("memory tree insertion kept going stale; item left for the next job")
        return False


def _check_plan(session: Session, plan: InsertPlan, item: _Item) -> str:
    """``"ok"``, ``"done"`` (the item has its leaf already) or ``"stale"`` (the tree moved)."""
    if item.fact_id is not None:
        has_leaf = t.TreeNode.fact_id == item.fact_id
    else:
        has_leaf = t.TreeNode.episode_id == item.episode_id
    if session.scalar(sa.select(t.TreeNode.id).where(has_leaf).limit(1)) is not None:
        return "done"
    wanted = {plan.parent_id, *(v.id for v in plan.path)}
    if plan.expansion is not None:
        wanted.add(plan.expansion.node_id)
    rows = {
        int(i): (fact, episode)
        for i, fact, episode in session.execute(
            sa.select(t.TreeNode.id, t.TreeNode.fact_id, t.TreeNode.episode_id).where(
                t.TreeNode.id.in_(wanted)
            )
        )
    }
    if len(rows) != len(wanted):
        return "stale"
    if plan.expansion is not None and rows[plan.expansion.node_id] == (None, None):
        return "stale"  # the leaf to expand became an inner node meanwhile
    return "ok"


def _expanded(plan: InsertPlan) -> list[int]:
    return [plan.expansion.node_id] if plan.expansion is not None else []


def _pending(session: Session, namespace_id: int, owner: Scope) -> list[_Item]:
    leaf = sa.orm.aliased(t.TreeNode)
    facts = session.execute(
        sa.select(t.Fact.id, t.Fact.text, t.Fact.valid_from, t.Fact.source_event_ids)
        .outerjoin(leaf, leaf.fact_id == t.Fact.id)
        .where(
            scope_clause(t.Fact, namespace_id, owner),
            t.Fact.status == FactStatus.ACTIVE.value,
            leaf.id.is_(None),
        )
        .order_by(t.Fact.valid_from, t.Fact.id)
        .limit(_BATCH)
    ).all()
    items = [_Item(int(i), None, text, when, tuple(src or ())) for i, text, when, src in facts]
    episodes = session.execute(
        sa.select(t.Episode.id, t.Episode.summary, t.Episode.ended_at)
        .outerjoin(leaf, leaf.episode_id == t.Episode.id)
        .where(
            scope_clause(t.Episode, namespace_id, owner), t.Episode.summary != "", leaf.id.is_(None)
        )
        .order_by(t.Episode.ended_at, t.Episode.id)
        .limit(_BATCH)
    ).all()
    items.extend(_Item(None, int(i), text, when, ()) for i, text, when in episodes)
    items.sort(key=lambda it: it.occurred_at)
    return items


def _apply(
    session: Session,
    plan: InsertPlan,
    item: _Item,
    *,
    contents: dict[int, str],
    namespace_id: int,
    owner: Scope,
) -> list[int]:
    now = utcnow()
    owner_key = scope_key(owner)
    touched: list[int] = []

    def new_node(parent: t.TreeNode, **fields: object) -> t.TreeNode:
        node = t.TreeNode(
            namespace_id=namespace_id,
            **owner.as_dict(),
            owner_key=owner_key,
            parent_id=parent.id,
            depth=parent.depth + 1,
            child_count=0,
            entry_count=1,
            created_at=now,
            updated_at=now,
            **fields,
        )
        session.add(node)
        parent.child_count += 1
        return node

    if plan.expansion is not None:
        expanded = session.get(t.TreeNode, plan.expansion.node_id)
        assert expanded is not None
        new_node(
            expanded,
            content=expanded.content,
            fact_id=expanded.fact_id,
            episode_id=expanded.episode_id,
            source_event_ids=list(expanded.source_event_ids or []),
            occurred_at=expanded.occurred_at,
        )
        expanded.fact_id = None
        expanded.episode_id = None
    for view in plan.path:
        node = session.get(t.TreeNode, view.id)
        assert node is not None
        node.content = contents.get(view.id, node.content)
        node.entry_count += 1
        node.source_event_ids = sorted(
            set(node.source_event_ids or []) | set(item.source_event_ids)
        )
        node.occurred_at = max(node.occurred_at, item.occurred_at)
        node.updated_at = now
        touched.append(node.id)
    parent = session.get(t.TreeNode, plan.parent_id)
    assert parent is not None
    leaf = new_node(
        parent,
        content=item.text,
        fact_id=item.fact_id,
        episode_id=item.episode_id,
        source_event_ids=list(item.source_event_ids),
        occurred_at=item.occurred_at,
    )
    root = session.scalar(
        sa.select(t.TreeNode).where(
            t.TreeNode.namespace_id == namespace_id,
            t.TreeNode.owner_key == owner_key,
            t.TreeNode.parent_id.is_(None),
        )
    )
    if root is not None:
        root.entry_count += 1
    session.flush()
    if root is not None:
        root.content = _root_digest(session, root)
        touched.append(root.id)
    touched.append(leaf.id)
    return touched


_DIGEST_CHILDREN = 6
_DIGEST_CHARS = 90


def _root_digest(session: Session, root: t.TreeNode) -> str:
    """What a root shows: its branches' own texts, shortened (the MemTree root aggregates
    nothing itself, and an empty root looked broken, issue 17). It is not indexed
    (:func:`memsvc.index.documents.index_text`): its branches are, and searching it would match
    everything."""
    texts = session.scalars(
        sa.select(t.TreeNode.content)
        .where(t.TreeNode.parent_id == root.id)
        .order_by(t.TreeNode.entry_count.desc(), t.TreeNode.id)
        .limit(_DIGEST_CHILDREN + 1)
    ).all()
    parts = [
        text if len(text) <= _DIGEST_CHARS else text[: _DIGEST_CHARS - 1].rstrip() + "…"
        for text in texts[:_DIGEST_CHILDREN]
        if text
    ]
    more = f" (+{root.child_count - len(parts)} more)" if root.child_count > len(parts) else ""
    return f"{root.entry_count} memories: " + " · ".join(parts) + more if parts else ""
