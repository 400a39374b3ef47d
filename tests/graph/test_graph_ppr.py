"""Personalised PageRank and graph rounds on a small graph built by hand."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from memsvc.graph.ppr import GraphRound, LoadedGraph, _seeds, expand, ppr
from memsvc.retrieval.iterative import IterativeResult, Retrieved, RoundTrace


def _graph() -> LoadedGraph:
    """Memories 1-4 and entities -1 (shared by 1 and 2), -2 (by 2 and 3), -3 (by 4 only)."""
    graph = nx.Graph()
    links = {1: [-1], 2: [-1, -2], 3: [-2], 4: [-3]}
    for memory, entities in links.items():
        for entity in entities:
            graph.add_edge(memory, entity, weight=1.0)
    degree = {-1: 2, -2: 2, -3: 1}
    keys = {"pottery": -1, "sunset": -2, "violin": -3}
    loaded = LoadedGraph(graph, keys, links, degree)
    loaded.prepare()
    return loaded


def _scores(graph: LoadedGraph, seeds: dict[int, float]) -> dict[int, float]:
    values = ppr(graph, seeds, damping=0.5)
    return {node: float(values[i]) for i, node in enumerate(graph.nodes)}


def test_ppr_spreads_along_shared_entities_only() -> None:
    graph = _graph()
    scores = _scores(graph, {1: 1.0})
    assert scores[2] > scores[3] > 0
    assert scores[4] == 0.0  # not connected
    assert abs(sum(scores.values()) - 1.0) < 1e-4


def test_ppr_matches_networkx_pagerank() -> None:
    graph = _graph()
    ours = _scores(graph, {1: 1.0, -2: 0.5})
    theirs = nx.pagerank(graph.graph, alpha=0.5, personalization={1: 1.0, -2: 0.5}, tol=1e-10)
    for node in ours:
        if node in nx.node_connected_component(graph.graph, 1):
            assert abs(ours[node] - theirs[node]) < 1e-3


def _first(*keys: int) -> IterativeResult:
    items = tuple(Retrieved(k, 1.0 / (i + 1), "", 0, i + 1) for i, k in enumerate(keys))
    return IterativeResult(items=items, rounds=(RoundTrace(0, "q", len(keys), len(keys)),))


def test_a_graph_round_brings_what_the_hits_entities_link_to() -> None:
    graph = _graph()
    parts: dict[int, dict[str, float]] = {}

    def admit(keys: Sequence[int]) -> set[int]:
        return set(keys)

    out = expand(graph, "what did she paint", _first(1), rounds=1, cfg=GraphRound(), admit=admit,
                 parts=parts)  # type: ignore[arg-type]  # fmt: skip
    keys = [item.key for item in out.items]
    assert keys[0] == 1 and 2 in keys and 3 in keys and 4 not in keys
    assert keys.index(2) < keys.index(3)
    assert len(out.rounds) == 2 and out.rounds[1].new == 2
    assert "graph_1" in parts[2]


def test_the_query_entities_seed_too_and_admit_filters() -> None:
    graph = _graph()

    def admit(keys: Sequence[int]) -> set[int]:
        return {k for k in keys if k != 3}

    out = expand(graph, "Does she play the violin?", _first(1), rounds=1, cfg=GraphRound(),
                 admit=admit, parts={})  # fmt: skip
    keys = [item.key for item in out.items]
    assert 4 in keys  # reached only through the query's entity "violin"
    assert 3 not in keys  # not admitted (another scope, a filter, not active)


def test_the_walk_ranks_what_its_seeds_lead_to_not_the_seeds() -> None:
    graph = _graph()
    parts: dict[int, dict[str, float]] = {}
    expand(graph, "what did she paint", _first(1), rounds=1, cfg=GraphRound(),
           admit=set, parts=parts)  # type: ignore[arg-type]  # fmt: skip
    assert "graph_1" not in parts.get(1, {})  # the seed itself gets no second vote
    assert parts[2]["graph_1"] == 1.0


def test_an_entity_only_the_hit_mentions_seeds_nothing() -> None:
    graph = _graph()
    lone = _seeds(graph, "", [Retrieved(4, 1.0, "", 0, 1)], GraphRound())
    assert -3 not in lone and lone == {4: GraphRound().hit_weight}
    shared = _seeds(graph, "", [Retrieved(2, 1.0, "", 0, 1)], GraphRound())
    assert shared[-1] == shared[-2] == 0.5  # relevance / degree


def _fused_order(fusion: str) -> list[int]:
    """Memory 1 found first (relevance 1), memory 4 weakly (0.6); 2 and 3 only by the walk."""
    scale = 2.0 / 61
    first = IterativeResult(
        items=(Retrieved(1, scale, "", 0, 1), Retrieved(4, 0.6 * scale, "", 0, 2)),
        rounds=(RoundTrace(0, "q", 2, 2),),
    )
    cfg = GraphRound(seeds=1, fusion=fusion, scale=scale)  # type: ignore[arg-type]
    out = expand(graph := _graph(), "q", first, rounds=1, cfg=cfg, admit=set, parts={})  # type: ignore[arg-type]
    assert graph.memory_count == 4
    return [item.key for item in out.items]


def test_rrf_fusion_keeps_a_walk_find_below_what_the_hybrid_round_found() -> None:
    assert _fused_order("rrf") == [1, 4, 2, 3]


def test_max_and_or_fusion_let_the_walk_s_best_find_rank_on_its_own_relevance() -> None:
    for fusion in ("max", "or"):
        order = _fused_order(fusion)
        assert order.index(2) < order.index(4), fusion
        assert order[0] in (1, 2)
