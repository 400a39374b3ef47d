"""Index by size: the HNSW graph is built in the background and swapped in atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from index_builders import key, keys_of, tags_for, unit_vectors

from memsvc.config import IndexSettings
from memsvc.index.exact import ExactIndex
from memsvc.index.faiss import FaissIndex
from memsvc.index.registry import load_vector_index, make_vector_index

DIM = 32


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy the flat vectors in chunks of 1,000 so that small tests take several."""
    monkeypatch.setattr("memsvc.index.faiss._BUILD_CHUNK", 1_000)


def _cfg(approximate_after: int, storage: str = "float16") -> IndexSettings:
    # model_copy skips validation (approximate_after >= 1000 in real settings)
    return IndexSettings().model_copy(
        update={
            "approximate_after": approximate_after,
            "hnsw_m": 16,
            "background_build": True,
            "hnsw_storage": storage,
        }
    )


@pytest.mark.parametrize("storage", ["float16", "sq8"])
def test_background_build_serves_exactly_meanwhile_then_swaps_in_hnsw(
    rng: np.random.Generator, tmp_path: Path, storage: str
) -> None:
    n, extra = 6_000, 300
    vectors = unit_vectors(rng, n + extra, DIM)
    index = make_vector_index(_cfg(5_500, storage), DIM)
    assert isinstance(index, FaissIndex)
    exact = ExactIndex(DIM)
    for start in range(0, n, 1_000):
        keys = keys_of(range(start + 1, start + 1_001))
        index.add(keys, vectors[start : start + 1_000], tags_for(1_000))
        exact.add(keys, vectors[start : start + 1_000], tags_for(1_000))
    assert index.is_building
    # writes and searches go on while the graph is built: the flat index answers exactly
    late = keys_of(range(n + 1, n + extra + 1))
    index.add(late, vectors[n:], tags_for(extra))
    exact.add(late, vectors[n:], tags_for(extra))
    if index.is_building:
        assert index.index_type == "flat"
        assert [k for k, _ in index.search(vectors[7], 10)] == [
            k for k, _ in exact.search(vectors[7], 10)
        ]
    assert index.wait_for_build(timeout=300)
    assert index.index_type == "hnsw"
    stats = index.stats()
    assert stats["storage"] == storage
    assert stats["last_build_vectors"] == n + extra
    assert stats["count"] == n + extra
    # vectors added during the build made it into the graph
    for row in (n, n + extra - 1, 3):
        assert index.search(vectors[row], 1)[0][0] == key(row + 1)
    queries = unit_vectors(rng, 100, DIM)
    found = sum(
        len({k for k, _ in exact.search(q, 10)} & {k for k, _ in index.search(q, 10)})
        for q in queries
    )
    assert found / 1_000 >= 0.95
    index.save(tmp_path)
    loaded = load_vector_index(_cfg(5_500, storage), DIM, tmp_path)
    assert isinstance(loaded, FaissIndex)
    assert loaded.index_type == "hnsw"
    assert loaded.stats()["storage"] == storage
    assert loaded.search(vectors[n], 1)[0][0] == key(n + 1)


def test_removals_during_a_background_build_stay_removed(rng: np.random.Generator) -> None:
    n = 5_000
    vectors = unit_vectors(rng, n, DIM)
    index = FaissIndex(_cfg(4_000), DIM, is_background_build=True)
    index.add(keys_of(range(1, n + 1)), vectors, tags_for(n))
    assert index.remove(keys_of(range(1, 2_001)).tolist()) == 2_000
    index.wait_for_build(timeout=300)
    assert index.index_type == "hnsw"
    assert key(1) not in index
    hits = index.search(vectors[0], 50)
    assert hits and all(k > key(2_000) for k, _ in hits)
    assert len(index) == n - 2_000
