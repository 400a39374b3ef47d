"""Both BM25 backends (ours and tantivy): ranking, incremental updates equal a fresh build,
filters, languages, persistence. One contract suite, parametrized over the implementations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from index_builders import key, keys_of, tags_for

from memsvc.errors import IndexOutOfSync
from memsvc.index.base import IndexFilter, IndexTags, SparseIndex
from memsvc.index.bm25 import Bm25Index
from memsvc.index.tantivy_bm25 import TantivyBm25Index
from memsvc.types import Scope

SENTENCES = [
    "I had a great coffee in Paris last summer with my sister.",
    "My sister adopted a dog named Biscuit in March.",
    "We are planning a trip to Tokyo next spring.",
    "The coffee machine at work broke again today.",
    "Caroline went to an LGBTQ support group on Tuesday.",
    "Melanie painted a sunrise over the lake last year.",
    "Paris is expensive, but the museums are worth it.",
    "I started learning to play the violin in January.",
]


BACKENDS: dict[str, type[Bm25Index] | type[TantivyBm25Index]] = {
    "bm25": Bm25Index,
    "tantivy": TantivyBm25Index,
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> type[Bm25Index] | type[TantivyBm25Index]:
    return BACKENDS[str(request.param)]


def _index(
    backend: type[Bm25Index] | type[TantivyBm25Index], texts: list[str], user_id: str = "u1"
) -> Bm25Index | TantivyBm25Index:
    index = backend()
    index.add(keys_of(range(1, len(texts) + 1)), texts, tags_for(len(texts), user_id=user_id))
    return index


def test_bm25_index_satisfies_protocol(backend: type[Bm25Index] | type[TantivyBm25Index]) -> None:
    assert isinstance(backend(), SparseIndex)


def test_bm25_index_ranks_the_document_sharing_most_rare_terms_first(
    backend: type[Bm25Index] | type[TantivyBm25Index],
) -> None:
    index = _index(backend, SENTENCES)
    hits = index.search("coffee in Paris", 3)
    assert hits[0][0] == key(1)
    assert {k for k, _ in hits} == {key(1), key(4), key(7)}
    assert index.search("What is the name of the dog?", 1)[0][0] == key(2)
    assert index.search("support group", 1)[0][0] == key(5)


def test_bm25_index_only_returns_documents_sharing_a_term(
    backend: type[Bm25Index] | type[TantivyBm25Index],
) -> None:
    index = _index(backend, SENTENCES)
    assert [k for k, _ in index.search("violin", 10)] == [key(8)]
    assert index.search("submarine", 10) == []
    assert index.search("the and of", 10) == []


def test_bm25_index_incremental_updates_equal_a_fresh_build(
    backend: type[Bm25Index] | type[TantivyBm25Index],
) -> None:
    """Ours: the same scores. tantivy: the same documents match; its statistics count deleted
    documents until their segment merges, so on 8 documents scores move by up to 30%."""
    incremental = _index(backend, SENTENCES)
    incremental.remove([key(3), key(6)])
    incremental.add(keys_of([1]), ["Coffee in Rome this time, not Paris."], tags_for(1))
    incremental.add(keys_of([9]), ["A new sentence about the dog and coffee."], tags_for(1))
    final = {
        1: "Coffee in Rome this time, not Paris.",
        9: "A new sentence about the dog and coffee.",
    }
    final |= {i + 1: s for i, s in enumerate(SENTENCES) if i + 1 not in (1, 3, 6)}
    fresh = backend()
    rows = sorted(final)
    fresh.add(keys_of(rows), [final[r] for r in rows], tags_for(len(rows)))
    for query in ("coffee Paris", "dog", "sister trip Tokyo", "Rome museums"):
        got, want = incremental.search(query, 10), fresh.search(query, 10)
        assert set(dict(got)) == set(dict(want))
        if backend is Bm25Index:
            assert dict(got) == pytest.approx(dict(want))
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


def test_bm25_index_compaction_keeps_scores(rng: np.random.Generator) -> None:
    backend = Bm25Index
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(2_000)]
    index = backend()
    index.add(keys_of(range(1, 2_001)), texts, tags_for(2_000))
    index.remove(keys_of(range(1, 401)).tolist())
    assert index.stats()["tombstones"] == 400
    before = index.search("w1 w2 w3", 20)
    index.remove(keys_of(range(401, 701)).tolist())
    assert index.stats()["tombstones"] == 0
    fresh = backend()
    fresh.add(keys_of(range(701, 2_001)), texts[700:], tags_for(1_300))
    assert dict(index.search("w1 w2 w3", 20)) == pytest.approx(dict(fresh.search("w1 w2 w3", 20)))
    assert before


def test_bm25_index_filtered_search_returns_k_when_k_match(
    backend: type[Bm25Index] | type[TantivyBm25Index],
) -> None:
    index = backend()
    index.add(
        keys_of(range(1, 501)),
        ["coffee coffee coffee espresso"] * 500,
        tags_for(500, user_id="b"),
    )
    index.add(
        keys_of(range(1_001, 1_008)),
        [f"a long note that mentions coffee once, number {i}" for i in range(7)],
        tags_for(7, user_id="a"),
    )
    hits = index.search("coffee", 5, where=IndexFilter(scope=Scope(user_id="a")))
    assert len(hits) == 5
    assert all(key(1_001) <= k <= key(1_007) for k, _ in hits)
    assert len(index.search("coffee", 50, where=IndexFilter(scope=Scope(user_id="a")))) == 7


def test_bm25_index_filters_currency_and_time(
    backend: type[Bm25Index] | type[TantivyBm25Index],
) -> None:
    index = backend()
    tags = [IndexTags("u1", None, None, is_current=i != 0, occurred_at=float(i)) for i in range(3)]
    index.add(keys_of([1, 2, 3]), ["red apple", "green apple", "apple pie"], tags)
    assert {k for k, _ in index.search("apple", 5, where=IndexFilter())} == {key(2), key(3)}
    where = IndexFilter(current_only=False, occurred_before=1.0)
    assert {k for k, _ in index.search("apple", 5, where=where)} == {key(1), key(2)}


@pytest.mark.parametrize(
    ("documents", "query", "expected"),
    [
        (["Herr Müller wohnt in der Bahnhofstraße.", "Frau Schulz fährt nach Köln."], "müller", 1),
        (["Herr Müller wohnt in der Bahnhofstraße.", "Frau Schulz fährt nach Köln."], "KÖLN", 2),
        (
            ["Herr Müller wohnt in der Bahnhofstraße.", "Frau Schulz fährt nach Köln."],
            "Bahnhofstrasse",
            1,
        ),
        (["我喜欢在北京吃烤鸭。", "上海的夏天很热。"], "北京烤鸭", 1),
        (["我喜欢在北京吃烤鸭。", "上海的夏天很热。"], "上海", 2),
        (["東京に住んでいます。", "大阪でラーメンを食べました。"], "東京", 1),
        (["東京に住んでいます。", "大阪でラーメンを食べました。"], "ラーメン", 2),
    ],
)
def test_bm25_index_finds_non_english_text(
    backend: type[Bm25Index] | type[TantivyBm25Index],
    documents: list[str],
    query: str,
    expected: int,
) -> None:
    assert _index(backend, documents).search(query, 1)[0][0] == key(expected)


def test_bm25_index_save_load_round_trip(
    backend: type[Bm25Index] | type[TantivyBm25Index], tmp_path: Path
) -> None:
    index = _index(backend, SENTENCES)
    index.remove([key(2)])
    index.add(keys_of([20]), ["东京的咖啡很好喝"], tags_for(1, user_id="u2"))
    index.applied_seq = 99
    index.save(tmp_path / "sparse")
    loaded = backend.load(tmp_path / "sparse")
    assert loaded.applied_seq == 99
    assert sorted(loaded.keys().tolist()) == sorted(index.keys().tolist())
    for query in ("coffee Paris", "咖啡", "dog"):
        assert loaded.search(query, 5) == index.search(query, 5)
    where = IndexFilter(scope=Scope(user_id="u2"))
    assert [k for k, _ in loaded.search("咖啡", 5, where=where)] == [key(20)]
    loaded.add(keys_of([21]), ["more coffee"], tags_for(1))
    assert key(21) in {k for k, _ in loaded.search("coffee", 10)}


def test_bm25_index_load_of_missing_directory_is_empty(
    backend: type[Bm25Index] | type[TantivyBm25Index], tmp_path: Path
) -> None:
    loaded = backend.load(tmp_path / "nothing")
    assert (len(loaded), loaded.applied_seq) == (0, 0)


def test_bm25_index_load_rejects_damaged_arrays(tmp_path: Path) -> None:
    backend = Bm25Index
    _index(backend, SENTENCES).save(tmp_path)
    (snapshot,) = tmp_path.glob("snap-*")
    np.savez(snapshot / "bm25.npz", post_offsets=np.zeros(3, dtype=np.int64))
    with pytest.raises(IndexOutOfSync):
        backend.load(tmp_path)


def test_bm25_index_empty_text_is_held_but_never_matches(
    backend: type[Bm25Index] | type[TantivyBm25Index],
) -> None:
    index = backend()
    index.add(keys_of([1, 2]), ["", "hello world"], tags_for(2))
    assert len(index) == 2
    assert [k for k, _ in index.search("hello", 5)] == [key(2)]


def test_tantivy_index_load_rejects_a_damaged_segment_list(tmp_path: Path) -> None:
    _index(TantivyBm25Index, SENTENCES).save(tmp_path)
    (snapshot,) = tmp_path.glob("snap-*")
    (snapshot / "tv-meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexOutOfSync):
        TantivyBm25Index.load(tmp_path)


def test_tantivy_index_removal_and_replacement_reach_tantivy_itself() -> None:
    index = _index(TantivyBm25Index, SENTENCES)
    index.remove([key(2)])
    index.add(keys_of([1]), ["nothing left about drinks"], tags_for(1))
    searcher = index._current_searcher()
    assert searcher.num_docs == len(SENTENCES) - 1
    assert searcher.doc_freq("text", "biscuit") == 0 or not index.search("Biscuit", 5)
    assert [k for k, _ in index.search("Paris", 5)] == [key(7)]
    assert index.holds_removed_terms


def test_tantivy_index_scope_moved_by_retag_is_still_filtered_right() -> None:
    index = TantivyBm25Index()
    index.add(keys_of(range(1, 5_001)), ["coffee"] * 5_000, tags_for(5_000, user_id="a"))
    index.retag(keys_of([7]), tags_for(1, user_id="b"))
    where = IndexFilter(scope=Scope(user_id="b"))
    assert [k for k, _ in index.search("coffee", 5, where=where)] == [key(7)]
    where_a = IndexFilter(scope=Scope(user_id="a"))
    assert key(7) not in {k for k, _ in index.search("coffee", 5_000, where=where_a)}


def test_tantivy_index_working_folders_are_private_and_removed(tmp_path: Path) -> None:
    first = TantivyBm25Index(work_root=tmp_path)
    first.add(keys_of([1]), ["hello"], tags_for(1))
    first.save(tmp_path / "sparse")
    second = TantivyBm25Index.load(tmp_path / "sparse", work_root=tmp_path)
    assert first._work != second._work
    second.add(keys_of([2]), ["hello again"], tags_for(1))
    assert len(first.search("hello", 5)) == 1
    del first, second
    assert not list(tmp_path.glob("memsvc-tantivy-*"))


def test_bm25_arena_moves_and_repacks_keep_scores(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One document at a time (every slice outgrows itself), repacking often: the same scores
    as one batch."""
    import memsvc.index.bm25 as bm25

    monkeypatch.setattr(bm25, "_REPACK_MIN", 64)
    repacks = []
    real_repack = Bm25Index._repack

    def counted(self: Bm25Index) -> None:
        repacks.append(1)
        real_repack(self)

    monkeypatch.setattr(Bm25Index, "_repack", counted)
    words = [f"w{i}" for i in range(200)]
    texts = [" ".join(rng.choice(words, size=8)) for _ in range(1_500)]
    one_by_one, batch = Bm25Index(), Bm25Index()
    for i, text in enumerate(texts):
        one_by_one.add(keys_of([i + 1]), [text], tags_for(1))
    batch.add(keys_of(range(1, 1_501)), texts, tags_for(1_500))
    assert repacks
    for query in ("w1 w2", "w150 w7 w33", "w199"):
        assert dict(one_by_one.search(query, 20)) == pytest.approx(dict(batch.search(query, 20)))
