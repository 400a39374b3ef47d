"""Fixtures of the index tests: a random generator and every VectorIndex variant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from index_builders import VARIANTS, IndexLoader, IndexMaker, load_variant, make_variant

from memsvc.index.base import VectorIndex


@pytest.fixture(autouse=True)
def single_threaded_faiss() -> Iterator[None]:
    """FAISS's OpenMP threads spin against each other when the CPUs are shared (CI, parallel
    test runs): tiny test indexes build 10x faster on one thread."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_index(variant: str) -> IndexMaker:
    return lambda: make_variant(variant)


@pytest.fixture
def load_index(variant: str) -> IndexLoader:
    def load(directory: Path) -> VectorIndex:
        return load_variant(variant, directory)

    return load
