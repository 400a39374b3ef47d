"""MemTree insertion (Rezazadeh et al., 2024; ALGORITHMS.md §3.2 and §3.4).

A new item walks down from the root. At each node its embedding is compared (cosine) with the
node's children; the best child ``v*`` at depth ``d`` is entered when
``cos >= theta(d) = theta0 * exp(lam * d)`` (``d`` is the depth of the child being entered, so
going deeper needs more similarity). Otherwise the item becomes a new leaf of the current node.
Entering a leaf expands it: the leaf becomes an internal node, its content moves to a new child
leaf, and the item becomes that leaf's sibling. Every node entered on the way (the path, root
excluded) is then re-aggregated with the new text: ``c_v <- aggregate(c_v, c_new, n_v)``. Each
update needs only ``c_v`` and ``c_new``, so :func:`aggregate_path` runs them in parallel.

Bounds (``MemTreeSettings``):

- ``max_depth``: a leaf at ``max_depth`` is never entered (it cannot be expanded), so no node
  is deeper than ``max_depth``.
- ``max_children``: a node that already has ``max_children`` children takes no new leaf; the item
  is routed into its most similar child that can be entered, whatever the threshold says (the
  path then goes one level deeper). If that child's subtree is full too, the next most similar
  child is tried. Only a tree holding ``max_children ** max_depth`` items is full; inserting
  into it raises ``LimitExceeded``.

The tree lives in SQL; this module reads it through the small :class:`TreeView` protocol and
returns an :class:`InsertPlan`, which the pipeline applies. :class:`InMemoryTree` is the
reference implementation of both sides, used by :func:`rebuild` and by the tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memsvc.config import MemTreeSettings
from memsvc.embed.base import Embedder
from memsvc.errors import InvalidInput, LimitExceeded
from memsvc.llm.base import LLMTasks

__all__ = [
    "InMemoryTree",
    "InsertPlan",
    "LeafExpansion",
    "NodeView",
    "TreeItem",
    "TreeRecord",
    "TreeView",
    "aggregate_path",
    "plan_insert",
    "rebuild",
    "threshold",
]

#: One embedding, shape ``(dim,)``, float32, unit length.
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class NodeView:
    """What insertion needs to know about a node.

    ``embedding`` is ``None`` only for the root. ``is_leaf``: the node holds an item (a fact or
    an episode). ``entry_count``: items summarised under the node (1 for a leaf).
    """

    id: int
    depth: int
    content: str
    embedding: Vector | None = field(repr=False, compare=False)
    is_leaf: bool
    entry_count: int = 1


@runtime_checkable
class TreeView(Protocol):
    """Read access to one owner's tree (the pipeline implements it on the ``tree_node`` table)."""

    def root(self) -> NodeView:
        """The root (depth 0, no content); the implementation creates it if missing."""
        ...

    def children_of(self, node_id: int) -> list[NodeView]:
        """The children of ``node_id``, with their embeddings."""
        ...


@dataclass(frozen=True, slots=True)
class LeafExpansion:
    """Leaf ``node_id`` becomes an internal node; its item and ``content`` move to a new child
    leaf at ``depth`` (the node's depth + 1), with the same embedding."""

    node_id: int
    content: str
    depth: int


@dataclass(frozen=True, slots=True)
class InsertPlan:
    """Where a new item goes and what must be updated.

    Args:
        parent_id: the node the new leaf is attached to.
        depth: the new leaf's depth.
        path: the nodes entered, top-down, root excluded: each is re-aggregated with the new
            text, gets its embedding recomputed and its ``entry_count`` incremented.
        expansion: set when the last node of ``path`` is a leaf that is expanded.
        forced: the routing entered a child below the threshold because a node was full.
    """

    parent_id: int
    depth: int
    path: tuple[NodeView, ...] = ()
    expansion: LeafExpansion | None = None
    forced: bool = False


def threshold(depth: int, cfg: MemTreeSettings) -> float:
    """The similarity needed to enter a node at ``depth``: ``theta0 * exp(lam * depth)``."""
    return cfg.theta0 * math.exp(cfg.lam * depth)


def _can_enter(node: NodeView, cfg: MemTreeSettings) -> bool:
    # Entering a leaf expands it, which puts children one level deeper.
    return node.depth < cfg.max_depth


def _ranked(children: list[NodeView], embedding: Vector) -> list[tuple[float, NodeView]]:
    scored = [
        (-1.0 if c.embedding is None else float(np.dot(embedding, c.embedding)), c)
        for c in children
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    return scored


def plan_insert(view: TreeView, embedding: Vector, cfg: MemTreeSettings) -> InsertPlan:
    """Plan the insertion of an item with unit vector ``embedding`` (ALGORITHMS.md §3.4).

    Raises:
        LimitExceeded: every branch the item could take is full (see the module docs).
    """
    plan = _place(view, view.root(), embedding, cfg, path=(), forced=False)
    if plan is None:
        raise LimitExceeded(
            "memory tree is full",
            detail={"max_depth": cfg.max_depth, "max_children": cfg.max_children},
        )
    return plan


def _place(
    view: TreeView,
    node: NodeView,
    embedding: Vector,
    cfg: MemTreeSettings,
    *,
    path: tuple[NodeView, ...],
    forced: bool,
) -> InsertPlan | None:
    """The plan for placing the item at or under ``node``; ``None`` when that subtree is full.

    A full subtree is found only by walking it, which happens only once a branch has filled up
    (``max_children ** depth`` items); the search then backtracks to the next most similar child.
    """
    children = view.children_of(node.id)
    if not children:
        if node.is_leaf and path:
            expansion = LeafExpansion(node.id, node.content, node.depth + 1)
            return InsertPlan(node.id, node.depth + 1, path, expansion, forced)
        return InsertPlan(node.id, node.depth + 1, path, None, forced)
    ranked = _ranked(children, embedding)
    similarity, best = ranked[0]
    tried: int | None = None
    if similarity >= threshold(best.depth, cfg) and _can_enter(best, cfg):
        plan = _place(view, best, embedding, cfg, path=(*path, best), forced=forced)
        if plan is not None:
            return plan
        tried = best.id
    if len(children) < cfg.max_children:
        return InsertPlan(node.id, node.depth + 1, path, None, forced)
    for _, child in ranked:
        if child.id != tried and _can_enter(child, cfg):
            plan = _place(view, child, embedding, cfg, path=(*path, child), forced=True)
            if plan is not None:
                return plan
    return None


def aggregate_path(
    plan: InsertPlan, llm: LLMTasks, new_text: str, *, max_workers: int = 4
) -> dict[int, str]:
    """New content for every node of ``plan.path``: ``llm.aggregate(c_v, new_text, n_v)``.

    The calls are independent, so they run in parallel on a thread pool of at most
    ``max_workers`` threads; latency does not grow with depth. An LLM error propagates.
    """
    if not plan.path:
        return {}
    workers = max(1, min(max_workers, len(plan.path)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="memtree-aggregate") as pool:
        futures = {
            node.id: pool.submit(llm.aggregate, node.content, new_text, node.entry_count)
            for node in plan.path
        }
        return {node_id: future.result() for node_id, future in futures.items()}


@dataclass(frozen=True, slots=True)
class TreeItem:
    """An item to put in a tree: the caller's key (a fact id), its text and unit vector."""

    key: int
    text: str
    embedding: Vector = field(repr=False, compare=False)


@dataclass(slots=True)
class TreeRecord:
    """One node of an :class:`InMemoryTree`. ``item_key`` is set on leaves only."""

    id: int
    parent_id: int | None
    depth: int
    content: str
    embedding: Vector | None = field(repr=False, compare=False)
    item_key: int | None = None
    entry_count: int = 0
    children: list[int] = field(default_factory=list)


class InMemoryTree:
    """A MemTree held in memory: a :class:`TreeView` that can also apply plans.

    Node ids are assigned from 0 (the root) upwards. Used by :func:`rebuild`, whose result the
    pipeline persists with :meth:`records`, and as the reference in tests.
    """

    def __init__(self) -> None:
        self._nodes: dict[int, TreeRecord] = {0: TreeRecord(0, None, 0, "", None)}

    def __len__(self) -> int:
        return len(self._nodes)

    def _view(self, record: TreeRecord) -> NodeView:
        return NodeView(
            id=record.id,
            depth=record.depth,
            content=record.content,
            embedding=record.embedding,
            is_leaf=record.item_key is not None,
            entry_count=record.entry_count,
        )

    def root(self) -> NodeView:
        """The root node (id 0)."""
        return self._view(self._nodes[0])

    def children_of(self, node_id: int) -> list[NodeView]:
        """The children of ``node_id``, in insertion order."""
        return [self._view(self._nodes[c]) for c in self._nodes[node_id].children]

    def record(self, node_id: int) -> TreeRecord:
        """The node ``node_id`` (raises ``InvalidInput`` for an unknown id)."""
        try:
            return self._nodes[node_id]
        except KeyError:
            raise InvalidInput("no tree node with this id", detail={"id": node_id}) from None

    def records(self) -> list[TreeRecord]:
        """Every node, parents before children (breadth first from the root)."""
        out, queue = [], [0]
        while queue:
            record = self._nodes[queue.pop(0)]
            out.append(record)
            queue.extend(record.children)
        return out

    def _add(self, parent_id: int, content: str, embedding: Vector | None, key: int | None) -> int:
        parent = self._nodes[parent_id]
        node_id = len(self._nodes)
        self._nodes[node_id] = TreeRecord(
            node_id, parent_id, parent.depth + 1, content, embedding, key, 1
        )
        parent.children.append(node_id)
        return node_id

    def apply(
        self,
        plan: InsertPlan,
        item: TreeItem,
        *,
        contents: Mapping[int, str],
        embeddings: Mapping[int, Vector],
    ) -> int:
        """Apply ``plan`` for ``item`` with the re-aggregated ``contents`` and their
        ``embeddings`` (keyed by node id, one per node of the path); returns the new leaf's id.
        """
        if plan.expansion is not None:
            expanded = self._nodes[plan.expansion.node_id]
            self._add(expanded.id, expanded.content, expanded.embedding, expanded.item_key)
            expanded.item_key = None
        for node in plan.path:
            record = self._nodes[node.id]
            record.content = contents[node.id]
            record.embedding = embeddings[node.id]
            record.entry_count += 1
        self._nodes[0].entry_count += 1
        return self._add(plan.parent_id, item.text, item.embedding, item.key)

    def insert(
        self,
        item: TreeItem,
        *,
        embedder: Embedder,
        llm: LLMTasks,
        cfg: MemTreeSettings,
        max_workers: int = 4,
    ) -> InsertPlan:
        """Plan, aggregate, re-embed and apply one insertion; returns the plan applied."""
        plan = plan_insert(self, item.embedding, cfg)
        contents = aggregate_path(plan, llm, item.text, max_workers=max_workers)
        embeddings: dict[int, Vector] = {}
        if contents:
            ids = list(contents)
            vectors = embedder.embed([contents[i] for i in ids])
            embeddings = {node_id: vectors[row] for row, node_id in enumerate(ids)}
        self.apply(plan, item, contents=contents, embeddings=embeddings)
        return plan


def rebuild(
    items: Iterable[TreeItem],
    *,
    embedder: Embedder,
    llm: LLMTasks,
    cfg: MemTreeSettings,
    max_workers: int = 4,
) -> InMemoryTree:
    """Build a tree from scratch by inserting ``items`` in order (for "tree rebuild").

    Insert in time order: the tree then grows exactly as it would have online.
    """
    tree = InMemoryTree()
    for item in items:
        tree.insert(item, embedder=embedder, llm=llm, cfg=cfg, max_workers=max_workers)
    return tree
