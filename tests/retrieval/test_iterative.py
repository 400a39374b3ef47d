"""Iterative retrieval rounds."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pytest

from memsvc.retrieval.feedback import PseudoRelevanceFeedback, terms_of
from memsvc.retrieval.iterative import iterative_search

DOCS = {
    1: "Caroline: my sister Annabel moved away last spring.",
    2: "Melanie: the kids loved the pottery class.",
    3: "Annabel lives in Boston now, near the harbour.",
    4: "Caroline: I adopted a dog named Oscar.",
    5: "Melanie: we went camping by the lake.",
}


class OverlapSearch:
    """A real, tiny keyword search: score = shared content terms; records its queries."""

    def __init__(self, docs: dict[int, str]) -> None:
        self.docs = docs
        self.queries: list[str] = []

    def __call__(
        self, query: str, vector: npt.NDArray[np.float32] | None
    ) -> Sequence[tuple[int, float, str]]:
        self.queries.append(query)
        asked = set(terms_of(query))
        scored = [
            (key, float(len(asked & set(terms_of(text)))), text) for key, text in self.docs.items()
        ]
        hits = [hit for hit in scored if hit[1] > 0]
        return sorted(hits, key=lambda h: (-h[1], h[0]))


def refine_with(*queries: str) -> Callable[[str, Sequence[str]], str]:
    pending = list(queries)

    def refine(question: str, texts: Sequence[str]) -> str:
        return pending.pop(0)

    return refine


def test_iterative_second_round_finds_the_second_hop() -> None:
    search = OverlapSearch(DOCS)

    result = iterative_search(
        "Where does Caroline's sister live?",
        search_round=search,
        refine=PseudoRelevanceFeedback(terms=3, docs=1),
        rounds=2,
    )

    assert 3 in [item.key for item in result.items]
    assert [t.new for t in result.rounds][1] >= 1
    assert "annabel" in search.queries[1]


def test_iterative_stops_when_a_round_brings_nothing_new() -> None:
    search = OverlapSearch(DOCS)

    result = iterative_search(
        "pottery class",
        search_round=search,
        refine=refine_with("pottery kids", "camping lake", "dog"),
        rounds=4,
    )

    assert len(result.rounds) == 2
    assert result.rounds[1].new == 0
    assert search.queries == ["pottery class", "pottery kids"]


def test_iterative_stops_when_refine_repeats_a_query() -> None:
    search = OverlapSearch(DOCS)

    result = iterative_search(
        "pottery class", search_round=search, refine=refine_with("Pottery  class"), rounds=3
    )

    assert len(result.rounds) == 1
    assert search.queries == ["pottery class"]


def test_iterative_single_round_never_refines() -> None:
    result = iterative_search(
        "camping", search_round=OverlapSearch(DOCS), refine=refine_with(), rounds=1
    )

    assert [item.key for item in result.items] == [5]


def test_iterative_keeps_the_best_score_per_key_and_first_round_priority() -> None:
    rounds = iter(
        [
            [(1, 1.0, "a"), (2, 0.5, "b")],
            [(2, 2.0, "b"), (3, 1.25, "c"), (1, 0.1, "a")],
        ]
    )

    def search(query: str, vector: npt.NDArray[np.float32] | None) -> list[tuple[int, float, str]]:
        return next(rounds)

    result = iterative_search(
        "q", search_round=search, refine=refine_with("q2"), rounds=2, later_round_weight=0.8
    )

    scores = {item.key: (item.score, item.round) for item in result.items}
    assert scores == {1: (1.0, 0), 2: (pytest.approx(1.6), 0), 3: (pytest.approx(1.0), 1)}
    assert [item.key for item in result.items] == [2, 1, 3]


def test_iterative_refine_sees_merged_texts_best_first() -> None:
    seen: list[Sequence[str]] = []

    def refine(question: str, texts: Sequence[str]) -> str:
        seen.append(list(texts))
        return "camping lake"

    iterative_search(
        "pottery kids camping", search_round=OverlapSearch(DOCS), refine=refine, rounds=2
    )

    assert seen == [[DOCS[2], DOCS[5]]]


def test_iterative_passes_the_given_vector_first_then_the_revectored_one() -> None:
    vectors: list[npt.NDArray[np.float32] | None] = []
    first = np.ones(4, dtype=np.float32)
    second = np.zeros(4, dtype=np.float32)

    def search(query: str, vector: npt.NDArray[np.float32] | None) -> list[tuple[int, float, str]]:
        vectors.append(vector)
        return [(len(vectors), 1.0, query)]

    iterative_search(
        "q",
        search_round=search,
        refine=refine_with("q2"),
        rounds=2,
        query_vector=first,
        revector=lambda query, keys: second,
    )

    assert vectors[0] is first and vectors[1] is second


def test_iterative_refuses_zero_rounds() -> None:
    with pytest.raises(ValueError, match="at least one round"):
        iterative_search("q", search_round=OverlapSearch(DOCS), refine=refine_with(), rounds=0)
