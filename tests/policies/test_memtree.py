"""MemTree insertion: routing, leaf expansion, bounds, parallel aggregation, rebuild."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsvc.config import MemTreeSettings
from memsvc.embed.base import Embedder
from memsvc.errors import LimitExceeded
from memsvc.policies.memtree import (
    InMemoryTree,
    InsertPlan,
    NodeView,
    TreeItem,
    TreeRecord,
    TreeView,
    aggregate_path,
    plan_insert,
    rebuild,
    threshold,
)

from .fakes import ScriptedLLM


def _unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float32)


def _random_items(n: int, *, seed: int, dim: int = 12) -> list[TreeItem]:
    rng = np.random.default_rng(seed)
    centres = [_unit(rng.normal(size=dim)) for _ in range(4)]
    items = []
    for key in range(n):
        v = centres[key % 4] + 0.4 * _unit(rng.normal(size=dim))
        items.append(TreeItem(key=key, text=f"item {key}", embedding=_unit(v)))
    return items


def _check_invariants(tree: InMemoryTree, keys: list[int], cfg: MemTreeSettings) -> None:
    records = {r.id: r for r in tree.records()}
    assert len(records) == len(tree)  # every node reachable from the root
    leaves = [r for r in records.values() if r.item_key is not None]
    assert sorted(r.item_key for r in leaves if r.item_key is not None) == sorted(
        keys
    )  # each item exactly once
    for record in records.values():
        assert record.depth <= cfg.max_depth
        assert len(record.children) <= cfg.max_children
        if record.item_key is not None:
            assert record.children == []  # leaves hold items, internal nodes summaries
        elif record.id != 0:
            assert len(record.children) >= 2
        for child in record.children:
            assert records[child].parent_id == record.id
            assert records[child].depth == record.depth + 1
    assert records[0].entry_count == len(keys)
    for record in records.values():
        if record.id != 0:
            assert record.entry_count == _leaves_under(records, record.id)


def _leaves_under(records: dict[int, TreeRecord], node_id: int) -> int:
    record = records[node_id]
    if not record.children:
        return 1
    return sum(_leaves_under(records, c) for c in record.children)


def test_threshold_grows_exponentially_with_depth() -> None:
    cfg = MemTreeSettings(theta0=0.5, lam=0.1)
    assert threshold(0, cfg) == 0.5
    assert threshold(3, cfg) == pytest.approx(0.5 * np.exp(0.3))


def test_in_memory_tree_is_a_tree_view() -> None:
    assert isinstance(InMemoryTree(), TreeView)


def test_memtree_first_item_attaches_under_the_root(hashing_embedder: Embedder) -> None:
    tree = InMemoryTree()
    item = TreeItem(1, "Alice likes tea.", hashing_embedder.embed(["Alice likes tea."])[0])
    plan = plan_insert(tree, item.embedding, MemTreeSettings())
    assert plan == InsertPlan(parent_id=0, depth=1)
    assert aggregate_path(plan, ScriptedLLM(), item.text) == {}


def test_memtree_entering_a_leaf_expands_it(hashing_embedder: Embedder) -> None:
    cfg = MemTreeSettings(theta0=0.3, lam=0.0)
    tree = InMemoryTree()
    llm = ScriptedLLM()
    texts = ["Alice drinks green tea every morning.", "Alice drinks green tea every evening."]
    vectors = hashing_embedder.embed(texts)
    tree.insert(TreeItem(1, texts[0], vectors[0]), embedder=hashing_embedder, llm=llm, cfg=cfg)
    plan = tree.insert(
        TreeItem(2, texts[1], vectors[1]), embedder=hashing_embedder, llm=llm, cfg=cfg
    )
    leaf_id = tree.children_of(0)[0].id
    assert plan.expansion is not None
    assert plan.expansion.node_id == leaf_id
    assert plan.expansion.content == texts[0]
    assert (plan.parent_id, plan.depth) == (leaf_id, 2)
    assert [n.id for n in plan.path] == [leaf_id]
    node = tree.record(leaf_id)
    assert node.item_key is None  # now an internal node
    assert [tree.record(c).item_key for c in node.children] == [1, 2]
    assert [tree.record(c).content for c in node.children] == texts
    assert node.content == f"{texts[1]} / {texts[0]}"  # re-aggregated with the new text
    assert llm.aggregate_calls == [(texts[0], texts[1], 1)]
    assert node.entry_count == 2


def test_memtree_dissimilar_item_becomes_a_sibling(hashing_embedder: Embedder) -> None:
    cfg = MemTreeSettings(theta0=0.6, lam=0.1)
    tree = InMemoryTree()
    texts = ["Alice drinks green tea.", "The invoice for the roof repair is overdue."]
    for key, (text, vector) in enumerate(zip(texts, hashing_embedder.embed(texts), strict=True)):
        plan = tree.insert(
            TreeItem(key, text, vector), embedder=hashing_embedder, llm=ScriptedLLM(), cfg=cfg
        )
        assert plan.path == ()
    assert [c.content for c in tree.children_of(0)] == texts


def test_memtree_reaggregates_every_ancestor_on_the_path(hashing_embedder: Embedder) -> None:
    cfg = MemTreeSettings(theta0=0.2, lam=0.0, max_depth=6)
    tree = InMemoryTree()
    llm = ScriptedLLM()
    base = "Alice drinks green tea"
    texts = [f"{base} in the morning.", f"{base} at noon.", f"{base} at night.", f"{base}."]
    vectors = hashing_embedder.embed(texts)
    for key in range(3):
        tree.insert(
            TreeItem(key, texts[key], vectors[key]), embedder=hashing_embedder, llm=llm, cfg=cfg
        )
    before = {r.id: (r.content, r.entry_count) for r in tree.records()}
    llm.aggregate_calls.clear()
    plan = tree.insert(
        TreeItem(3, texts[3], vectors[3]), embedder=hashing_embedder, llm=llm, cfg=cfg
    )
    assert len(plan.path) >= 2
    assert sorted(call[0] for call in llm.aggregate_calls) == sorted(n.content for n in plan.path)
    for node in plan.path:
        record = tree.record(node.id)
        assert record.content == f"{texts[3]} / {before[node.id][0]}"
        assert record.entry_count == before[node.id][1] + 1
        assert record.embedding is not None
        np.testing.assert_allclose(
            record.embedding, hashing_embedder.embed([record.content])[0], rtol=1e-6
        )
    _check_invariants(tree, [0, 1, 2, 3], cfg)


def test_memtree_full_node_routes_to_the_most_similar_child() -> None:
    cfg = MemTreeSettings(theta0=0.99, lam=0.0, max_children=3, max_depth=4)
    tree = InMemoryTree()
    axes = np.eye(4, dtype=np.float32)
    for key in range(3):
        tree.apply(
            plan_insert(tree, axes[key], cfg),
            TreeItem(key, f"axis {key}", axes[key]),
            contents={},
            embeddings={},
        )
    near_axis_1 = _unit(np.array([0.2, 1.0, 0.1, 0.6]))  # below theta0 for every child
    plan = plan_insert(tree, near_axis_1, cfg)
    target = next(c for c in tree.children_of(0) if c.content == "axis 1")
    assert plan.forced
    assert plan.expansion is not None and plan.expansion.node_id == target.id
    assert plan.parent_id == target.id


def test_memtree_never_expands_a_leaf_at_max_depth() -> None:
    cfg = MemTreeSettings(theta0=0.1, lam=0.0, max_depth=1, max_children=4)
    tree = InMemoryTree()
    v = _unit(np.ones(4))
    for key in range(4):
        tree.apply(plan_insert(tree, v, cfg), TreeItem(key, "same", v), contents={}, embeddings={})
    assert [c.depth for c in tree.children_of(0)] == [1, 1, 1, 1]
    with pytest.raises(LimitExceeded):
        plan_insert(tree, v, cfg)


def test_aggregate_path_runs_the_calls_in_parallel() -> None:
    path = tuple(
        NodeView(
            id=i, depth=i, content=f"summary {i}", embedding=None, is_leaf=False, entry_count=i
        )
        for i in range(1, 4)
    )
    plan = InsertPlan(parent_id=3, depth=4, path=path)
    # Each call blocks until all three are in flight: sequential calls would time out.
    llm = ScriptedLLM(barrier=threading.Barrier(3, timeout=10))
    contents = aggregate_path(plan, llm, "new fact", max_workers=3)
    assert contents == {i: f"new fact / summary {i}" for i in range(1, 4)}
    assert sorted(llm.aggregate_calls) == [(f"summary {i}", "new fact", i) for i in range(1, 4)]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    theta0=st.floats(0.0, 1.0),
    lam=st.floats(0.0, 0.5),
    max_depth=st.integers(1, 4),
    max_children=st.integers(2, 5),
)
def test_memtree_invariants_hold_for_any_insertion_order(
    n: int, seed: int, theta0: float, lam: float, max_depth: int, max_children: int
) -> None:
    cfg = MemTreeSettings(theta0=theta0, lam=lam, max_depth=max_depth, max_children=max_children)
    capacity = max_children**max_depth
    tree = InMemoryTree()
    stored: list[int] = []
    for item in _random_items(n, seed=seed):
        if len(stored) == capacity:
            with pytest.raises(LimitExceeded):
                plan_insert(tree, item.embedding, cfg)
            break
        plan = plan_insert(tree, item.embedding, cfg)
        contents = {node.id: f"{item.text} / {node.content}" for node in plan.path}
        embeddings = {node.id: item.embedding for node in plan.path}
        tree.apply(plan, item, contents=contents, embeddings=embeddings)
        stored.append(item.key)
    _check_invariants(tree, stored, cfg)


def test_rebuild_builds_the_same_tree_as_online_insertion(hashing_embedder: Embedder) -> None:
    cfg = MemTreeSettings(theta0=0.3, lam=0.1, max_children=4, max_depth=3)
    texts = [f"Alice {verb} {thing}" for verb in ("likes", "buys") for thing in ("tea", "books")]
    texts += ["The roof leaks.", "The roof was repaired.", "Bob visits Rome.", "Bob loves Rome."]
    items = [
        TreeItem(k, t, v)
        for k, (t, v) in enumerate(zip(texts, hashing_embedder.embed(texts), strict=True))
    ]
    built = rebuild(items, embedder=hashing_embedder, llm=ScriptedLLM(), cfg=cfg)
    online = InMemoryTree()
    for item in items:
        online.insert(item, embedder=hashing_embedder, llm=ScriptedLLM(), cfg=cfg)
    shape = [(r.id, r.parent_id, r.depth, r.content, r.item_key) for r in built.records()]
    assert shape == [(r.id, r.parent_id, r.depth, r.content, r.item_key) for r in online.records()]
    _check_invariants(built, list(range(len(items))), cfg)
    records = built.records()
    assert records[0].id == 0
    seen = set()
    for record in records:  # parents come before their children
        assert record.parent_id is None or record.parent_id in seen
        seen.add(record.id)
