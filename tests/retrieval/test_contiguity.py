"""Temporal contiguity: neighbours of strong event hits."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from memsvc.retrieval.contiguity import add_neighbours


class Timeline:
    """Events 1..n told in order: a real neighbourhood function over a list."""

    def __init__(self, n: int) -> None:
        self.ids = list(range(1, n + 1))
        self.calls: list[int] = []

    def __call__(self, event_id: int, before: int, after: int) -> Sequence[int]:
        self.calls.append(event_id)
        pos = self.ids.index(event_id)
        return self.ids[max(pos - before, 0) : pos + after + 1]


def test_add_neighbours_adds_both_sides_with_decayed_scores() -> None:
    items = add_neighbours([(5, 0.8)], Timeline(10), before=1, after=1, decay=0.5)

    assert {(i.event_id, i.score, i.via) for i in items} == {
        (5, 0.8, None),
        (4, 0.4, 5),
        (6, 0.4, 5),
    }


def test_add_neighbours_decays_with_distance() -> None:
    items = add_neighbours([(5, 1.0)], Timeline(10), before=2, after=0, decay=0.5)

    assert [(i.event_id, i.score, i.distance) for i in items] == [
        (5, 1.0, 0),
        (4, 0.5, 1),
        (3, 0.25, 2),
    ]


def test_add_neighbours_never_duplicates_a_hit() -> None:
    items = add_neighbours([(5, 0.9), (6, 0.2)], Timeline(10), decay=0.5)

    ids = [i.event_id for i in items]
    assert sorted(ids) == [4, 5, 6, 7]
    assert next(i for i in items if i.event_id == 6).score == 0.2
    assert not next(i for i in items if i.event_id == 6).is_neighbour


def test_add_neighbours_keeps_the_best_derived_score_for_a_shared_neighbour() -> None:
    items = add_neighbours([(4, 0.9), (6, 0.5)], Timeline(10), decay=0.5)

    shared = next(i for i in items if i.event_id == 5)
    assert shared.score == pytest.approx(0.45)
    assert shared.via == 4


def test_add_neighbours_only_expands_the_top_hits() -> None:
    timeline = Timeline(20)

    add_neighbours([(2, 0.9), (8, 0.8), (14, 0.7)], timeline, top=2)

    assert timeline.calls == [2, 8]


def test_add_neighbours_caps_the_number_added() -> None:
    items = add_neighbours([(3, 0.9), (8, 0.8)], Timeline(20), max_added=3)

    neighbours = [i.event_id for i in items if i.is_neighbour]
    assert sorted(neighbours) == [2, 4, 7]


def test_add_neighbours_is_clipped_at_the_start_of_the_timeline() -> None:
    items = add_neighbours([(1, 1.0)], Timeline(5), before=2, after=1)

    assert [i.event_id for i in items] == [1, 2]


def test_add_neighbours_orders_best_first() -> None:
    items = add_neighbours([(10, 0.3), (3, 0.9)], Timeline(20), decay=0.5)

    scores = [i.score for i in items]
    assert scores == sorted(scores, reverse=True)
    assert items[0].event_id == 3


def test_add_neighbours_with_zero_width_returns_the_hits() -> None:
    timeline = Timeline(5)

    items = add_neighbours([(2, 0.5)], timeline, before=0, after=0)

    assert [i.event_id for i in items] == [2]
    assert timeline.calls == []
