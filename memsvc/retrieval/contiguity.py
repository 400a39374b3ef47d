"""Temporal contiguity: add the events told just before and after strong event hits.

EM-LLM (ALGORITHMS.md §2.4, stage 2) keeps a contiguity buffer of the ±1 neighbours of its
similarity hits, because what was said next to a relevant turn is often the rest of the answer
("Where did you go?" / "To Paris."). Here the neighbours of the best ``top`` event hits are added
with a score derived from the hit's: ``hit_score * decay**distance``. A neighbour that is already
a hit keeps its own score; one reached from several hits keeps the best derived score.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["ContiguityItem", "NeighbourFetcher", "add_neighbours"]

logger = logging.getLogger(__name__)

#: ``fetch(event_id, before, after)``: the ids of up to ``before`` events preceding and up to
#: ``after`` events following ``event_id`` in its scope, in chronological order, with
#: ``event_id`` itself in its place (it may be left out when unknown; every id then counts as
#: distance 1).
NeighbourFetcher = Callable[[int, int, int], Sequence[int]]


@dataclass(frozen=True, slots=True)
class ContiguityItem:
    """An event in the result: a hit (``via is None``) or a neighbour added for hit ``via``.

    ``distance`` is how many events away from ``via`` the neighbour sits (0 for a hit).
    """

    event_id: int
    score: float
    via: int | None = None
    distance: int = 0

    @property
    def is_neighbour(self) -> bool:
        """Whether this item was added by contiguity rather than found by search."""
        return self.via is not None


def _distances(event_id: int, ids: Sequence[int]) -> dict[int, int]:
    if event_id not in ids:
        logger.debug("contiguity: event %d absent from its own neighbourhood", event_id)
        return {int(i): 1 for i in ids}
    centre = list(ids).index(event_id)
    return {int(i): abs(pos - centre) for pos, i in enumerate(ids) if pos != centre}


def add_neighbours(
    hits: Sequence[tuple[int, float]],
    fetch: NeighbourFetcher,
    *,
    before: int = 1,
    after: int = 1,
    top: int = 5,
    decay: float = 0.5,
    max_added: int | None = None,
) -> list[ContiguityItem]:
    """Add the temporal neighbours of the strongest event hits.

    Args:
        hits: ``(event_id, score)`` pairs, best first; all of them are kept.
        fetch: returns an event's neighbourhood (see :data:`NeighbourFetcher`).
        before: neighbours wanted before each hit.
        after: neighbours wanted after each hit.
        top: how many of the best hits get neighbours (EM-LLM spends ~30% of its budget here).
        decay: a neighbour at distance ``d`` scores ``hit_score * decay**d``.
        max_added: at most this many neighbours in all (``None``: no cap); the neighbours of
            better hits come first.

    Returns:
        Hits and added neighbours, each id once, best score first (ties: hits before
        neighbours, then the order they were found in).
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError("contiguity decay must lie in [0, 1]")
    items: dict[int, ContiguityItem] = {}
    for event_id, score in hits:
        if int(event_id) not in items:
            items[int(event_id)] = ContiguityItem(int(event_id), float(score))
    hit_ids = set(items)
    added = 0
    strong = list(items.values())[: max(top, 0)] if before > 0 or after > 0 else []
    for hit in strong:
        neighbourhood = fetch(hit.event_id, before, after)
        for neighbour, distance in _distances(hit.event_id, neighbourhood).items():
            if neighbour in hit_ids:
                continue
            derived = hit.score * decay**distance
            known = items.get(neighbour)
            if known is None:
                if max_added is not None and added >= max_added:
                    continue
                added += 1
            elif known.score >= derived:
                continue
            items[neighbour] = ContiguityItem(
                neighbour, derived, via=hit.event_id, distance=distance
            )
    order = {event_id: pos for pos, event_id in enumerate(items)}
    return sorted(items.values(), key=lambda it: (-it.score, it.is_neighbour, order[it.event_id]))
