"""FaissIndex beyond the shared contract: layout switch, tombstones, recall, broken files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from index_builders import DIM, key, keys_of, tags_for, unit_vectors

from memsvc.config import IndexSettings
from memsvc.errors import IndexOutOfSync
from memsvc.index.base import IndexFilter
from memsvc.index.exact import ExactIndex
from memsvc.index.faiss import FaissIndex
from memsvc.types import Scope


def _hnsw_cfg(approximate_after: int = 1_000) -> IndexSettings:
    return IndexSettings(approximate_after=1_000).model_copy(
        update={"approximate_after": approximate_after, "hnsw_m": 16}
    )


def test_faiss_index_switches_to_hnsw_past_threshold(rng: np.random.Generator) -> None:
    index = FaissIndex(_hnsw_cfg(100), DIM)
    index.add(keys_of(range(1, 101)), unit_vectors(rng, 100), tags_for(100))
    assert index.index_type == "flat"
    index.add(keys_of([101]), unit_vectors(rng, 1), tags_for(1))
    assert index.index_type == "hnsw"
    assert len(index) == 101


def test_faiss_index_hnsw_recall_at_10_against_exact(rng: np.random.Generator) -> None:
    dim, n = 32, 3_000
    vectors = unit_vectors(rng, n, dim)
    keys = keys_of(range(1, n + 1))
    hnsw = FaissIndex(_hnsw_cfg(), dim, exact_max=0, exact_fraction=0.0)
    exact = ExactIndex(dim)
    for index in (hnsw, exact):
        index.add(keys, vectors, tags_for(n))
    assert hnsw.index_type == "hnsw"
    queries = unit_vectors(rng, 50, dim)
    found = 0
    for query in queries:
        truth = {k for k, _ in exact.search(query, 10)}
        found += len(truth & {k for k, _ in hnsw.search(query, 10)})
    assert found / (10 * len(queries)) >= 0.95


def test_faiss_index_hnsw_removal_leaves_tombstones_until_compaction(
    rng: np.random.Generator,
) -> None:
    index = FaissIndex(_hnsw_cfg(), DIM, is_auto_compact=False)
    vectors = unit_vectors(rng, 1_500)
    index.add(keys_of(range(1, 1_501)), vectors, tags_for(1_500))
    assert index.remove(keys_of(range(1, 501)).tolist()) == 500
    assert index.stats()["tombstones"] == 500
    assert index.needs_compaction
    hits = index.search(vectors[0], 20)
    assert len(hits) == 20
    assert all(k >= key(501) for k, _ in hits)
    index.compact()
    assert index.stats()["tombstones"] == 0
    assert not index.needs_compaction
    assert index.search(vectors[600], 1)[0][0] == key(601)


def test_faiss_index_hnsw_auto_compacts_past_a_fifth_of_tombstones(
    rng: np.random.Generator,
) -> None:
    index = FaissIndex(_hnsw_cfg(), DIM)
    index.add(keys_of(range(1, 1_501)), unit_vectors(rng, 1_500), tags_for(1_500))
    index.remove(keys_of(range(1, 250)).tolist())
    assert index.stats()["tombstones"] == 249
    index.remove(keys_of(range(250, 400)).tolist())
    assert index.stats()["tombstones"] == 0
    assert index.index_type == "hnsw"
    assert len(index) == 1_101


def test_faiss_index_hnsw_upsert_does_not_return_the_stale_vector(rng: np.random.Generator) -> None:
    index = FaissIndex(_hnsw_cfg(), DIM, is_auto_compact=False)
    vectors = unit_vectors(rng, 1_200)
    index.add(keys_of(range(1, 1_201)), vectors, tags_for(1_200))
    index.add(keys_of([1]), vectors[1:2], tags_for(1))
    hits = index.search(vectors[0], 1_200)
    assert len(hits) == len({k for k, _ in hits}) == 1_200
    # the graph stores float16 vectors by default: scores within 1e-3
    assert dict(hits)[key(1)] == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-3)


def test_faiss_index_hnsw_widens_for_a_rare_filter(rng: np.random.Generator) -> None:
    index = FaissIndex(_hnsw_cfg(), DIM, exact_max=0, exact_fraction=0.0)
    vectors = unit_vectors(rng, 2_000)
    tags = tags_for(2_000, user_id="common")
    rare = [3, 500, 1_999]
    for row in rare:
        tags[row] = tags_for(1, user_id="rare")[0]
    index.add(keys_of(range(1, 2_001)), vectors, tags)
    hits = index.search(vectors[0], 5, where=IndexFilter(scope=Scope(user_id="rare")))
    assert {k for k, _ in hits} == {key(r + 1) for r in rare}


def test_faiss_index_load_rejects_corrupt_index_file(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    index = FaissIndex(IndexSettings(), DIM)
    index.add(keys_of(range(1, 11)), unit_vectors(rng, 10), tags_for(10))
    index.save(tmp_path)
    (snapshot,) = tmp_path.glob("snap-*")
    (snapshot / "vectors.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexOutOfSync):
        FaissIndex.load(tmp_path, IndexSettings(), DIM)


def test_faiss_index_load_rejects_other_dimension(rng: np.random.Generator, tmp_path: Path) -> None:
    index = FaissIndex(IndexSettings(), DIM)
    index.add(keys_of(range(1, 11)), unit_vectors(rng, 10), tags_for(10))
    index.save(tmp_path)
    with pytest.raises(IndexOutOfSync):
        FaissIndex.load(tmp_path, IndexSettings(), DIM * 2)


def test_faiss_index_load_rejects_tags_of_another_snapshot(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    first = FaissIndex(IndexSettings(), DIM)
    first.add(keys_of(range(1, 11)), unit_vectors(rng, 10), tags_for(10))
    first.save(tmp_path / "a")
    second = FaissIndex(IndexSettings(), DIM)
    second.add(keys_of(range(101, 111)), unit_vectors(rng, 10), tags_for(10))
    second.save(tmp_path / "b")
    (snap_a,) = (tmp_path / "a").glob("snap-*")
    (snap_b,) = (tmp_path / "b").glob("snap-*")
    (snap_a / "tags.npz").write_bytes((snap_b / "tags.npz").read_bytes())
    with pytest.raises(IndexOutOfSync):
        FaissIndex.load(tmp_path / "a", IndexSettings(), DIM)


def test_faiss_index_save_load_keeps_hnsw_layout(rng: np.random.Generator, tmp_path: Path) -> None:
    index = FaissIndex(_hnsw_cfg(), DIM, is_auto_compact=False)
    vectors = unit_vectors(rng, 1_100)
    index.add(keys_of(range(1, 1_101)), vectors, tags_for(1_100))
    index.remove([key(5)])
    index.save(tmp_path)
    loaded = FaissIndex.load(tmp_path, _hnsw_cfg(), DIM)
    assert loaded.stats() == index.stats()
    assert loaded.search(vectors[9], 3) == index.search(vectors[9], 3)


def test_faiss_module_import_does_not_import_faiss() -> None:
    code = "import sys, memsvc.index.faiss, memsvc.index.registry; print('faiss' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_faiss_index_scores_match_exact_scores(rng: np.random.Generator) -> None:
    vectors = unit_vectors(rng, 300)
    faiss_index, exact = FaissIndex(IndexSettings(), DIM), ExactIndex(DIM)
    for index in (faiss_index, exact):
        index.add(keys_of(range(1, 301)), vectors, tags_for(300))
    query = unit_vectors(rng, 1)[0]
    got, want = faiss_index.search(query, 10), exact.search(query, 10)
    assert [k for k, _ in got] == [k for k, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)


def test_faiss_index_flat_compacts_tombstones_and_stays_exact(rng: np.random.Generator) -> None:
    vectors = unit_vectors(rng, 1_500)
    faiss_index, exact = FaissIndex(IndexSettings(), DIM), ExactIndex(DIM)
    for index in (faiss_index, exact):
        index.add(keys_of(range(1, 1_501)), vectors, tags_for(1_500))
        index.remove(keys_of(range(1, 1_500, 3)).tolist())
    assert faiss_index.stats()["tombstones"] == 0
    assert faiss_index.index_type == "flat"
    assert len(faiss_index) == 1_000
    for query in unit_vectors(rng, 5):
        assert [k for k, _ in faiss_index.search(query, 10)] == [
            k for k, _ in exact.search(query, 10)
        ]


def test_faiss_index_wraps_faiss_failures(rng: np.random.Generator, monkeypatch) -> None:
    import faiss

    index = FaissIndex(IndexSettings(), DIM)
    index.add(keys_of(range(1, 11)), unit_vectors(rng, 10), tags_for(10))

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Error in faiss::IndexFlat::search")

    monkeypatch.setattr(faiss.IndexFlatIP, "search", fail)
    with pytest.raises(IndexOutOfSync) as caught:
        index.search(unit_vectors(rng, 1)[0], 3)
    assert caught.value.detail == {"operation": "search"}


def test_faiss_index_falls_back_to_exact_when_hnsw_comes_back_short(
    rng: np.random.Generator, monkeypatch
) -> None:
    import faiss

    vectors = unit_vectors(rng, 1_200)
    hnsw = FaissIndex(_hnsw_cfg(), DIM, exact_max=0, exact_fraction=0.0)
    exact = ExactIndex(DIM)
    tags = [tags_for(1, user_id="a" if i % 2 else "b")[0] for i in range(1_200)]
    for index in (hnsw, exact):
        index.add(keys_of(range(1, 1_201)), vectors, tags)
    assert hnsw.index_type == "hnsw"

    def nothing_found(self: object, x: np.ndarray, k: int, **kwargs: object) -> tuple:
        return np.full((1, k), -np.inf, dtype=np.float32), np.full((1, k), -1, dtype=np.int64)

    monkeypatch.setattr(faiss.IndexHNSWFlat, "search", nothing_found)
    query = unit_vectors(rng, 1)[0]
    for where in (None, IndexFilter(scope=Scope(user_id="a"))):
        got, want = hnsw.search(query, 10, where=where), exact.search(query, 10, where=where)
        assert [k for k, _ in got] == [k for k, _ in want]
