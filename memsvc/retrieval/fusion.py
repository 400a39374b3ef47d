"""Weighted reciprocal rank fusion (RRF) of ranked candidate lists.

RRF (Cormack, Clarke and Büttcher, SIGIR 2009) scores a key by ``Σ_i w_i / (k + rank_i)`` over
the lists ``i`` it appears in, with ranks starting at 1. It needs no score calibration between a
cosine and a BM25 score, which is why the read path fuses dense and sparse candidates with it.
Each fused item keeps the parts of its score: per list, the rank, the list's own score and the
RRF contribution, so a hit can show why it ranked where it did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["FusedItem", "RankedList", "max_fused_score", "rrf"]


@dataclass(frozen=True, slots=True)
class RankedList:
    """One retriever's candidates, best first.

    Args:
        name: the retriever (``"dense"``, ``"sparse"``); it prefixes the score parts.
        items: ``(key, score)`` pairs, best first. A key repeated further down is ignored.
        weight: the list's weight in the fusion (0 drops its contribution but keeps its parts).
    """

    name: str
    items: Sequence[tuple[int, float]]
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError("an RRF weight cannot be negative")


@dataclass(frozen=True, slots=True)
class FusedItem:
    """A key with its fused score and the parts it came from.

    ``parts`` holds, for each list ``name`` the key appeared in, ``"<name>_rank"`` (1-based),
    ``"<name>_score"`` (the list's own score) and ``"<name>_rrf"`` (its weighted contribution),
    plus ``"rrf"``, the fused score itself.
    """

    key: int
    score: float
    parts: Mapping[str, float] = field(default_factory=dict)


def rrf(lists: Sequence[RankedList], *, k: int = 60) -> list[FusedItem]:
    """Fuse ranked lists by weighted reciprocal rank.

    Args:
        lists: the candidate lists; their names must be distinct.
        k: the rank constant (60 in the paper); larger values flatten the head of each list.

    Returns:
        Every key that appears in any list, best first. Ties are broken by the best rank the key
        reached in any list, then by the order of the lists (the first list wins), then by key,
        so the result is deterministic.
    """
    if k < 1:
        raise ValueError("the RRF rank constant k must be at least 1")
    names = [lst.name for lst in lists]
    if len(set(names)) != len(names):
        raise ValueError("ranked lists need distinct names")
    scores: dict[int, float] = {}
    parts: dict[int, dict[str, float]] = {}
    tie: dict[int, tuple[int, int]] = {}
    for list_no, lst in enumerate(lists):
        rank = 0
        for key, raw in lst.items:
            key = int(key)
            own = parts.setdefault(key, {})
            if f"{lst.name}_rank" in own:
                continue
            rank += 1
            contribution = lst.weight / (k + rank)
            scores[key] = scores.get(key, 0.0) + contribution
            own[f"{lst.name}_rank"] = float(rank)
            own[f"{lst.name}_score"] = float(raw)
            own[f"{lst.name}_rrf"] = contribution
            tie[key] = min(tie.get(key, (rank, list_no)), (rank, list_no))
    order = sorted(scores, key=lambda key: (-scores[key], *tie[key], key))
    return [FusedItem(key, scores[key], {**parts[key], "rrf": scores[key]}) for key in order]


def max_fused_score(weights: Sequence[float], *, k: int = 60) -> float:
    """The score of a key ranked first in every list: ``Σ w_i / (k + 1)``.

    Dividing a fused score by this maps it into [0, 1] on a scale that does not depend on the
    query, which is how :mod:`memsvc.retrieval.scoring` turns RRF into a relevance.
    """
    if k < 1:
        raise ValueError("the RRF rank constant k must be at least 1")
    return sum(weights) / (k + 1)
