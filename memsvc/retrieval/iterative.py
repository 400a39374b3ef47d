"""Iterative retrieval: search, refine the query from what was found, search again.

Zeng et al. (ALGORITHMS.md §4.2) found iterative retrieval the most reliable gain for mixed
memory: round ``r+1`` searches with a query refined from round ``r``'s results (an LLM's
chain-of-thought appended to the question, or here any ``refine`` callable: the LLM's
``refine_query`` or :class:`~memsvc.retrieval.feedback.PseudoRelevanceFeedback`), and the
results of all rounds are merged keeping each key's best score.

Two departures from the paper, both to keep a refined query from drifting: scores of later
rounds are multiplied by ``later_round_weight`` (≤ 1), and on equal scores a key found earlier
ranks first, so the first round's results keep priority. Rounds stop early when one brings no
key not seen before, or when ``refine`` returns a query already tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "IterativeResult",
    "Refine",
    "Retrieved",
    "RoundTrace",
    "SearchRound",
    "iterative_search",
]

logger = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
#: ``search_round(query_text, query_vector)``: ranked ``(key, score, text)``, best first. A
#: ``None`` vector means "embed ``query_text`` yourself".
SearchRound = Callable[[str, Vector | None], Sequence[tuple[int, float, str]]]
#: ``refine(question, retrieved_texts)``: the next round's query text (texts best first).
Refine = Callable[[str, Sequence[str]], str]
#: ``revector(next_query, top_keys)``: the next round's query vector, or ``None``.
Revector = Callable[[str, Sequence[int]], Vector | None]


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One merged result: its best (round-weighted) score, and where it was first found."""

    key: int
    score: float
    text: str
    round: int
    rank: int


@dataclass(frozen=True, slots=True)
class RoundTrace:
    """What one round did: its query, how many results it returned and how many were new."""

    index: int
    query: str
    returned: int
    new: int


@dataclass(frozen=True, slots=True)
class IterativeResult:
    """The merged results, best first, and a trace of the rounds that ran."""

    items: tuple[Retrieved, ...]
    rounds: tuple[RoundTrace, ...]

    def texts(self, limit: int | None = None) -> list[str]:
        """The texts of the first ``limit`` results (all when ``None``)."""
        return [item.text for item in self.items[:limit]]


def _merge(
    best: dict[int, Retrieved],
    results: Sequence[tuple[int, float, str]],
    *,
    round_no: int,
    weight: float,
) -> int:
    """Fold one round into ``best``; return how many keys were new."""
    new = 0
    for rank, (key, score, text) in enumerate(results, start=1):
        key, weighted = int(key), float(score) * weight
        known = best.get(key)
        if known is None:
            best[key] = Retrieved(key, weighted, text, round_no, rank)
            new += 1
        elif weighted > known.score:
            best[key] = Retrieved(key, weighted, known.text, known.round, known.rank)
    return new


def _ordered(best: dict[int, Retrieved]) -> tuple[Retrieved, ...]:
    return tuple(sorted(best.values(), key=lambda r: (-r.score, r.round, r.rank, r.key)))


def iterative_search(
    question: str,
    *,
    search_round: SearchRound,
    refine: Refine,
    rounds: int = 2,
    query_vector: Vector | None = None,
    revector: Revector | None = None,
    feedback: int = 20,
    later_round_weight: float = 0.8,
) -> IterativeResult:
    """Run up to ``rounds`` rounds of search and query refinement.

    Args:
        question: the user's query; round 0 searches with it.
        search_round: one search (dense + sparse + fusion, as the caller likes).
        refine: turns the question and the texts found so far into the next query.
        rounds: the most rounds to run (1: a single search, no refinement).
        query_vector: round 0's vector, when the caller already embedded the question.
        revector: gives later rounds' vectors (e.g. Rocchio over the top keys); by default
            ``None`` is passed and ``search_round`` embeds the refined text.
        feedback: how many of the merged results (best first) ``refine`` sees.
        later_round_weight: multiplies the scores of rounds after the first.

    Returns:
        Every key found, best first, each once, with the trace of the rounds.
    """
    if rounds < 1:
        raise ValueError("iterative retrieval needs at least one round")
    if not 0.0 <= later_round_weight <= 1.0:
        raise ValueError("later_round_weight must lie in [0, 1]")
    best: dict[int, Retrieved] = {}
    traces: list[RoundTrace] = []
    query, vector = question, query_vector
    tried = {" ".join(question.split()).lower()}
    for round_no in range(rounds):
        results = search_round(query, vector)
        weight = 1.0 if round_no == 0 else later_round_weight
        new = _merge(best, results, round_no=round_no, weight=weight)
        traces.append(RoundTrace(round_no, query, len(results), new))
        logger.debug("iterative round %d: %d results, %d new", round_no, len(results), new)
        if (round_no > 0 and new == 0) or round_no == rounds - 1:
            break
        merged = _ordered(best)[:feedback]
        query = refine(question, [item.text for item in merged])
        normalised = " ".join(query.split()).lower()
        if not normalised or normalised in tried:
            break
        tried.add(normalised)
        vector = None if revector is None else revector(query, [item.key for item in merged])
    return IterativeResult(items=_ordered(best), rounds=tuple(traces))
