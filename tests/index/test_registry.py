"""The index registry: backends chosen by name, loaded lazily, empty when never saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from index_builders import DIM, keys_of, tags_for, unit_vectors

from memsvc.config import IndexSettings
from memsvc.errors import ConfigError, IndexOutOfSync
from memsvc.index import registry
from memsvc.index.base import SparseIndex, VectorIndex
from memsvc.index.bm25 import Bm25Index
from memsvc.index.exact import ExactIndex
from memsvc.index.faiss import FaissIndex
from memsvc.index.registry import (
    load_sparse_index,
    load_vector_index,
    make_sparse_index,
    make_vector_index,
)
from memsvc.index.tantivy_bm25 import TantivyBm25Index


@pytest.mark.parametrize(("backend", "expected"), [("faiss", FaissIndex), ("exact", ExactIndex)])
def test_make_vector_index_picks_the_configured_backend(backend: str, expected: type) -> None:
    index = make_vector_index(IndexSettings.model_validate({"backend": backend}), DIM)
    assert isinstance(index, expected)
    assert isinstance(index, VectorIndex)
    assert index.dim == DIM


@pytest.mark.parametrize("backend", ["faiss", "exact"])
def test_load_vector_index_round_trips_and_starts_empty(
    backend: str, tmp_path: Path, rng: np.random.Generator
) -> None:
    cfg = IndexSettings.model_validate({"backend": backend})
    empty = load_vector_index(cfg, DIM, tmp_path / "missing")
    assert (len(empty), empty.applied_seq) == (0, 0)
    empty.add(keys_of([1, 2]), unit_vectors(rng, 2), tags_for(2))
    empty.applied_seq = 3
    empty.save(tmp_path / "dense")
    loaded = load_vector_index(cfg, DIM, tmp_path / "dense")
    assert (len(loaded), loaded.applied_seq) == (2, 3)


def test_load_vector_index_refuses_a_snapshot_of_another_backend(tmp_path: Path) -> None:
    make_vector_index(IndexSettings.model_validate({"backend": "exact"}), DIM).save(tmp_path)
    with pytest.raises(IndexOutOfSync):
        load_vector_index(IndexSettings(backend="faiss"), DIM, tmp_path)


@pytest.mark.parametrize(
    ("backend", "expected"), [("bm25", Bm25Index), ("tantivy", TantivyBm25Index)]
)
def test_sparse_index_factory_and_loader(tmp_path: Path, backend: str, expected: type) -> None:
    cfg = IndexSettings.model_validate({"sparse_backend": backend})
    index = make_sparse_index(cfg)
    assert isinstance(index, expected)
    assert isinstance(index, SparseIndex)
    empty = load_sparse_index(tmp_path / "missing", cfg)
    assert (len(empty), empty.applied_seq) == (0, 0)
    index.add(keys_of([1, 2]), ["red apple", "green pear"], tags_for(2))
    index.applied_seq = 4
    index.save(tmp_path / "sparse")
    loaded = load_sparse_index(tmp_path / "sparse", cfg)
    assert (len(loaded), loaded.applied_seq) == (2, 4)


def test_sparse_snapshot_of_another_backend_is_out_of_sync(tmp_path: Path) -> None:
    make_sparse_index(IndexSettings.model_validate({"sparse_backend": "bm25"})).save(tmp_path)
    with pytest.raises(IndexOutOfSync):
        load_sparse_index(tmp_path, IndexSettings.model_validate({"sparse_backend": "tantivy"}))


def test_unknown_backend_target_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dict(registry.VECTOR_BACKENDS, faiss="memsvc.index.nowhere:Nothing")
    monkeypatch.setattr(registry, "VECTOR_BACKENDS", broken)
    with pytest.raises(ConfigError):
        make_vector_index(IndexSettings(backend="faiss"), DIM)
