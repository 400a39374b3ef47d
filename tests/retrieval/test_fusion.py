"""Weighted reciprocal rank fusion."""

from __future__ import annotations

import pytest

from memsvc.retrieval.fusion import RankedList, max_fused_score, rrf


def test_rrf_scores_are_weighted_reciprocal_ranks() -> None:
    dense = RankedList("dense", [(1, 0.9), (2, 0.8), (3, 0.7)], weight=1.0)
    sparse = RankedList("sparse", [(3, 12.0), (1, 5.0)], weight=2.0)

    fused = {item.key: item.score for item in rrf([dense, sparse], k=60)}

    assert fused[1] == pytest.approx(1 / 61 + 2 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 2 / 61)


def test_rrf_orders_best_first() -> None:
    dense = RankedList("dense", [(1, 0.9), (2, 0.8), (3, 0.7)])
    sparse = RankedList("sparse", [(3, 12.0), (1, 5.0)], weight=2.0)

    assert [item.key for item in rrf([dense, sparse], k=60)] == [3, 1, 2]


def test_rrf_parts_record_rank_score_and_contribution() -> None:
    dense = RankedList("dense", [(7, 0.5), (8, 0.4)])
    sparse = RankedList("sparse", [(8, 3.5)], weight=0.5)

    item = next(i for i in rrf([dense, sparse], k=10) if i.key == 8)

    assert item.parts == {
        "dense_rank": 2.0,
        "dense_score": 0.4,
        "dense_rrf": pytest.approx(1 / 12),
        "sparse_rank": 1.0,
        "sparse_score": 3.5,
        "sparse_rrf": pytest.approx(0.5 / 11),
        "rrf": pytest.approx(1 / 12 + 0.5 / 11),
    }


def test_rrf_ignores_a_key_repeated_within_a_list() -> None:
    fused = rrf([RankedList("dense", [(1, 0.9), (1, 0.1), (2, 0.5)])], k=60)

    assert [(i.key, i.parts["dense_rank"]) for i in fused] == [(1, 1.0), (2, 2.0)]


def test_rrf_breaks_ties_by_best_rank_then_list_order() -> None:
    dense = RankedList("dense", [(5, 1.0), (6, 0.9)])
    sparse = RankedList("sparse", [(6, 9.0), (5, 8.0)])

    assert [item.key for item in rrf([dense, sparse])] == [5, 6]


def test_rrf_zero_weight_keeps_parts_but_adds_nothing() -> None:
    fused = rrf([RankedList("dense", [(1, 0.9)]), RankedList("sparse", [(2, 4.0)], weight=0.0)])

    assert [i.key for i in fused] == [1, 2]
    assert fused[1].score == 0.0
    assert fused[1].parts["sparse_rank"] == 1.0


def test_rrf_refuses_duplicate_list_names() -> None:
    with pytest.raises(ValueError, match="distinct"):
        rrf([RankedList("dense", []), RankedList("dense", [])])


def test_max_fused_score_normalises_a_key_first_everywhere_to_one() -> None:
    lists = [RankedList("dense", [(1, 0.9)], weight=1.0), RankedList("sparse", [(1, 2.0)], 0.5)]

    top = rrf(lists, k=60)[0]

    assert top.score / max_fused_score([1.0, 0.5], k=60) == pytest.approx(1.0)
