"""The VectorIndex contract, run against every implementation (see conftest.VARIANTS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from index_builders import (
    DIM,
    SCORE_TOL,
    IndexLoader,
    IndexMaker,
    key,
    keys_of,
    near,
    tags_for,
    unit_vectors,
)

from memsvc.errors import InvalidInput, InvalidQuery
from memsvc.index.base import IndexFilter, IndexTags, VectorIndex
from memsvc.types import MemoryKind, Scope

ANY = IndexFilter(current_only=False)


def _filled(
    make_index: IndexMaker, rng: np.random.Generator, n: int = 60
) -> tuple[VectorIndex, np.ndarray]:
    index = make_index()
    vectors = unit_vectors(rng, n)
    index.add(keys_of(range(1, n + 1)), vectors, tags_for(n))
    return index, vectors


def test_vector_index_satisfies_protocol(make_index: IndexMaker) -> None:
    assert isinstance(make_index(), VectorIndex)


def test_vector_index_add_then_search_finds_each_vector(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index, vectors = _filled(make_index, rng)
    assert len(index) == 60
    assert key(5) in index
    assert key(61) not in index
    for row in (0, 17, 59):
        hits = index.search(vectors[row], 3)
        assert hits[0][0] == key(row + 1)
        assert hits[0][1] == pytest.approx(1.0, abs=SCORE_TOL)


def test_vector_index_search_orders_like_brute_force(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index, vectors = _filled(make_index, rng, n=200)
    query = unit_vectors(rng, 1)[0]
    expected = np.argsort(-(vectors @ query))[:10]
    hits = index.search(query, 10)
    assert [k for k, _ in hits] == [key(int(i) + 1) for i in expected]
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores == pytest.approx((vectors @ query)[expected].tolist(), abs=SCORE_TOL)


def test_vector_index_upsert_replaces_the_vector(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index, vectors = _filled(make_index, rng)
    replacement = unit_vectors(rng, 1)
    index.add(keys_of([3]), replacement, tags_for(1))
    assert len(index) == 60
    [(best, score)] = index.search(replacement[0], 1)
    assert best == key(3)
    assert score == pytest.approx(1.0, abs=SCORE_TOL)
    old_hits = dict(index.search(vectors[2], 60))
    assert old_hits[key(3)] == pytest.approx(float(vectors[2] @ replacement[0]), abs=SCORE_TOL)


def test_vector_index_repeated_key_in_one_batch_keeps_the_last(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index = make_index()
    vectors = unit_vectors(rng, 2)
    index.add(keys_of([1, 1]), vectors, tags_for(2))
    assert len(index) == 1
    assert index.search(vectors[1], 1)[0][1] == pytest.approx(1.0, abs=SCORE_TOL)


def test_vector_index_remove_drops_keys(make_index: IndexMaker, rng: np.random.Generator) -> None:
    index, vectors = _filled(make_index, rng)
    assert index.remove([key(1), key(2), key(999)]) == 2
    assert len(index) == 58
    assert key(1) not in index
    found = {k for k, _ in index.search(vectors[0], 60)}
    assert found == {key(i) for i in range(3, 61)}
    assert index.remove([key(1)]) == 0


def test_vector_index_remove_then_readd_is_searchable(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index, vectors = _filled(make_index, rng)
    index.remove([key(7)])
    index.add(keys_of([7]), vectors[6:7], tags_for(1))
    assert index.search(vectors[6], 1)[0][0] == key(7)
    assert len(index) == 60


def test_vector_index_keys_lists_held_keys(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index, _ = _filled(make_index, rng, n=10)
    index.remove([key(4)])
    assert sorted(index.keys().tolist()) == sorted(key(i) for i in range(1, 11) if i != 4)


def test_vector_index_save_load_round_trip(
    make_index: IndexMaker, load_index: IndexLoader, rng: np.random.Generator, tmp_path: Path
) -> None:
    index, vectors = _filled(make_index, rng, n=80)
    index.remove([key(10)])
    index.add(keys_of([11]), unit_vectors(rng, 1), tags_for(1, user_id="u2"))
    index.applied_seq = 42
    index.save(tmp_path / "dense")
    loaded = load_index(tmp_path / "dense")
    assert loaded.applied_seq == 42
    assert sorted(loaded.keys().tolist()) == sorted(index.keys().tolist())
    query = unit_vectors(rng, 1)[0]
    assert loaded.search(query, 10) == index.search(query, 10)
    where = IndexFilter(scope=Scope(user_id="u2"))
    assert [k for k, _ in loaded.search(query, 5, where=where)] == [key(11)]
    loaded.add(keys_of([500]), vectors[:1], tags_for(1))
    assert loaded.search(vectors[0], 2)[0][0] in {key(1), key(500)}
    assert len(loaded) == 80


def test_vector_index_save_twice_keeps_the_latest(
    make_index: IndexMaker, load_index: IndexLoader, rng: np.random.Generator, tmp_path: Path
) -> None:
    index, _ = _filled(make_index, rng, n=5)
    index.save(tmp_path)
    index.remove([key(1)])
    index.applied_seq = 7
    index.save(tmp_path)
    loaded = load_index(tmp_path)
    assert (len(loaded), loaded.applied_seq) == (4, 7)


def test_vector_index_load_of_missing_directory_is_empty(
    load_index: IndexLoader, tmp_path: Path
) -> None:
    loaded = load_index(tmp_path / "never-saved")
    assert (len(loaded), loaded.applied_seq) == (0, 0)


def test_vector_index_retag_changes_what_a_filter_passes(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index, vectors = _filled(make_index, rng, n=20)
    index.retag(keys_of([5, 999]), [IndexTags("u9", None, None), IndexTags("u9", None, None)])
    where = IndexFilter(scope=Scope(user_id="u9"))
    assert [k for k, _ in index.search(vectors[0], 10, where=where)] == [key(5)]
    assert key(5) not in {
        k for k, _ in index.search(vectors[4], 20, where=IndexFilter(scope=Scope(user_id="u1")))
    }


def test_vector_index_filtered_search_returns_k_when_k_pass(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    """Many non-matching vectors sit closer to the query than the few matching ones: a fixed
    over-fetch would come back with none of user a's memories."""
    index = make_index()
    query = unit_vectors(rng, 1)[0]
    decoys = near(rng, query, 1500, spread=0.05)
    wanted = near(rng, -query, 12, spread=0.8)
    index.add(keys_of(range(1, 1501)), decoys, tags_for(1500, user_id="b"))
    index.add(keys_of(range(2001, 2013)), wanted, tags_for(12, user_id="a"))
    hits = index.search(query, 10, where=IndexFilter(scope=Scope(user_id="a")))
    order = np.argsort(-(wanted @ query))[:10]
    assert [k for k, _ in hits] == [key(2001 + int(i)) for i in order]
    all_of_a = index.search(query, 50, where=IndexFilter(scope=Scope(user_id="a")))
    assert len(all_of_a) == 12


def test_vector_index_filter_passing_most_returns_k(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index = make_index()
    vectors = unit_vectors(rng, 600)
    tags = [IndexTags("a" if i % 3 else "b", None, None) for i in range(600)]
    index.add(keys_of(range(1, 601)), vectors, tags)
    query = unit_vectors(rng, 1)[0]
    hits = index.search(query, 25, where=IndexFilter(scope=Scope(user_id="a")))
    expected = [i for i in np.argsort(-(vectors @ query)) if i % 3][:25]
    assert [k for k, _ in hits] == [key(int(i) + 1) for i in expected]


def test_vector_index_scope_filter_needs_every_given_key(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index = make_index()
    vectors = unit_vectors(rng, 4)
    tags = [
        IndexTags("u1", "agent", "s1"),
        IndexTags("u1", "agent", "s2"),
        IndexTags("u1", None, "s1"),
        IndexTags("u2", "agent", "s1"),
    ]
    index.add(keys_of(range(1, 5)), vectors, tags)
    where = IndexFilter(scope=Scope(user_id="u1", session_id="s1"))
    assert {k for k, _ in index.search(vectors[0], 10, where=where)} == {key(1), key(3)}
    where = IndexFilter(scope=Scope(agent_id="agent"))
    assert {k for k, _ in index.search(vectors[0], 10, where=where)} == {key(1), key(2), key(4)}
    assert index.search(vectors[0], 10, where=IndexFilter(scope=Scope(user_id="nobody"))) == []


def test_vector_index_kind_filter(make_index: IndexMaker, rng: np.random.Generator) -> None:
    index = make_index()
    vectors = unit_vectors(rng, 30)
    kinds = [MemoryKind.EVENT, MemoryKind.FACT, MemoryKind.SUMMARY]
    for offset, kind in enumerate(kinds):
        rows = range(offset * 10 + 1, offset * 10 + 11)
        index.add(keys_of(rows, kind), vectors[offset * 10 : offset * 10 + 10], tags_for(10))
    where = IndexFilter(kinds=frozenset({MemoryKind.FACT, MemoryKind.SUMMARY}))
    found = {k for k, _ in index.search(vectors[0], 30, where=where)}
    assert found == set(keys_of(range(11, 21), MemoryKind.FACT).tolist()) | set(
        keys_of(range(21, 31), MemoryKind.SUMMARY).tolist()
    )
    assert index.search(vectors[0], 5, where=IndexFilter(kinds=frozenset())) == []


def test_vector_index_current_only_excludes_superseded(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index = make_index()
    vectors = unit_vectors(rng, 10)
    tags = [IndexTags("u1", None, None, is_current=i % 2 == 0) for i in range(10)]
    index.add(keys_of(range(1, 11)), vectors, tags)
    current = {k for k, _ in index.search(vectors[1], 10, where=IndexFilter())}
    assert current == {key(i + 1) for i in range(0, 10, 2)}
    assert len(index.search(vectors[1], 10, where=ANY)) == 10
    assert len(index.search(vectors[1], 10)) == 10


def test_vector_index_time_bounds_are_inclusive(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index = make_index()
    vectors = unit_vectors(rng, 10)
    tags = [IndexTags("u1", None, None, occurred_at=100.0 * i) for i in range(10)]
    index.add(keys_of(range(1, 11)), vectors, tags)
    where = IndexFilter(occurred_after=200.0, occurred_before=500.0)
    assert {k for k, _ in index.search(vectors[0], 10, where=where)} == {
        key(i) for i in range(3, 7)
    }
    where = IndexFilter(occurred_before=0.0)
    assert [k for k, _ in index.search(vectors[5], 10, where=where)] == [key(1)]


def test_vector_index_k_larger_than_index(make_index: IndexMaker, rng: np.random.Generator) -> None:
    index, _ = _filled(make_index, rng, n=7)
    assert len(index.search(unit_vectors(rng, 1)[0], 100)) == 7
    assert index.search(unit_vectors(rng, 1)[0], 0) == []


def test_vector_index_empty_search_is_empty(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    assert make_index().search(unit_vectors(rng, 1)[0], 5) == []


def test_vector_index_rejects_wrong_dimension(
    make_index: IndexMaker, rng: np.random.Generator
) -> None:
    index, _ = _filled(make_index, rng, n=3)
    with pytest.raises(InvalidInput):
        index.add(keys_of([9]), unit_vectors(rng, 1, dim=DIM + 1), tags_for(1))
    with pytest.raises(InvalidQuery):
        index.search(np.ones(DIM + 1, dtype=np.float32), 3)
    with pytest.raises(InvalidInput):
        index.add(keys_of([9, 10]), unit_vectors(rng, 1), tags_for(2))
