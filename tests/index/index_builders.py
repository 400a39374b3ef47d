"""Builders shared by the index tests: keys, tags, unit vectors, and every VectorIndex variant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memsvc.config import IndexSettings
from memsvc.index.base import IndexTags, VectorIndex
from memsvc.index.exact import ExactIndex
from memsvc.index.faiss import FaissIndex
from memsvc.index.ids import encode_key
from memsvc.types import MemoryKind, MemoryRef

DIM = 16
#: Score tolerance: the HNSW layout stores float16 vectors by default (cosine error < 1e-3).
SCORE_TOL = 2e-3


def key(row_id: int, kind: MemoryKind = MemoryKind.FACT) -> int:
    """The index key of a memory."""
    return encode_key(MemoryRef(kind, row_id))


def keys_of(
    row_ids: range | list[int], kind: MemoryKind = MemoryKind.FACT
) -> npt.NDArray[np.int64]:
    """Index keys of many memories of one kind."""
    return np.asarray([key(i, kind) for i in row_ids], dtype=np.int64)


def tags_for(
    n: int,
    *,
    user_id: str | None = "u1",
    agent_id: str | None = None,
    session_id: str | None = None,
    is_current: bool = True,
    occurred_at: float = 0.0,
) -> list[IndexTags]:
    """``n`` identical tags."""
    tag = IndexTags(user_id, agent_id, session_id, is_current, occurred_at)
    return [tag] * n


def unit_vectors(rng: np.random.Generator, n: int, dim: int = DIM) -> npt.NDArray[np.float32]:
    """``n`` random unit vectors."""
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    unit: npt.NDArray[np.float32] = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return unit


def near(
    rng: np.random.Generator, center: npt.NDArray[np.float32], n: int, spread: float
) -> npt.NDArray[np.float32]:
    """``n`` unit vectors around ``center`` (smaller spread: closer)."""
    matrix = center[None, :] + spread * rng.standard_normal((n, len(center))).astype(np.float32)
    unit: npt.NDArray[np.float32] = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return unit


def _hnsw_settings() -> IndexSettings:
    # model_copy skips validation: the settings refuse approximate_after < 1000, and these tests
    # want an HNSW graph from the second vector on.
    return IndexSettings().model_copy(update={"approximate_after": 1, "hnsw_m": 16})


IndexMaker = Callable[[], VectorIndex]
IndexLoader = Callable[[Path], VectorIndex]

VARIANTS = ["exact", "faiss-flat", "faiss-hnsw", "faiss-hnsw-graph"]


def make_variant(variant: str, dim: int = DIM) -> VectorIndex:
    """A fresh index. ``faiss-hnsw-graph`` never takes the exact-subset shortcut, so the HNSW
    graph's own filtered search (ID selector, efSearch widening) is what is tested."""
    if variant == "exact":
        return ExactIndex(dim)
    if variant == "faiss-flat":
        return FaissIndex(IndexSettings(), dim)
    if variant == "faiss-hnsw":
        return FaissIndex(_hnsw_settings(), dim)
    return FaissIndex(_hnsw_settings(), dim, exact_max=0, exact_fraction=0.0)


def load_variant(variant: str, directory: Path, dim: int = DIM) -> VectorIndex:
    """The index of ``variant`` saved in ``directory``."""
    if variant == "exact":
        return ExactIndex.load(directory, IndexSettings(), dim)
    if variant == "faiss-flat":
        return FaissIndex.load(directory, IndexSettings(), dim)
    if variant == "faiss-hnsw":
        return FaissIndex.load(directory, _hnsw_settings(), dim)
    return FaissIndex.load(directory, _hnsw_settings(), dim, exact_max=0, exact_fraction=0.0)
