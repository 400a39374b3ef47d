"""Ports of the derived indexes, and the filter they all honour.

Indexes hold keys (see :mod:`memsvc.index.ids`), vectors or token statistics, and the few tags
needed to filter without a database round trip (scope, currency, event time). Content lives in
SQL. Each index records the change-log sequence number it includes (``applied_seq``) so that a
restart replays only what it missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memsvc.types import MemoryKind, Scope

__all__ = ["IndexFilter", "IndexTags", "SparseIndex", "VectorIndex"]


@dataclass(frozen=True, slots=True)
class IndexTags:
    """What an index knows about one memory besides its key.

    ``is_current`` is false for superseded and forgotten facts (they stay indexed for ``as_of``
    and ``include_inactive`` searches). ``occurred_at`` is a POSIX timestamp of the event time
    (for derived memories: the latest source event).
    """

    user_id: str | None
    agent_id: str | None
    session_id: str | None
    is_current: bool = True
    occurred_at: float = 0.0


@dataclass(frozen=True, slots=True)
class IndexFilter:
    """Which memories a search may return. ``None`` fields do not filter.

    A search with a filter returns ``k`` hits whenever ``k`` memories pass it.
    """

    scope: Scope | None = None
    kinds: frozenset[MemoryKind] | None = None
    current_only: bool = True
    occurred_after: float | None = None
    occurred_before: float | None = None


@runtime_checkable
class VectorIndex(Protocol):
    """Dense nearest-neighbour search over unit vectors (inner product = cosine)."""

    applied_seq: int
    #: the embedding model whose vectors it holds ("" when unknown), saved with the snapshot
    model_id: str

    @property
    def dim(self) -> int:
        """Vector size."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def keys(self) -> npt.NDArray[np.int64]:
        """All keys held."""
        ...

    def add(
        self,
        keys: npt.NDArray[np.int64],
        vectors: npt.NDArray[np.float32],
        tags: Sequence[IndexTags],
    ) -> None:
        """Insert or replace (upsert) vectors; no rebuild."""
        ...

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> None:
        """Replace the tags of keys already held (e.g. a fact superseded)."""
        ...

    def remove(self, keys: Iterable[int]) -> int:
        """Remove keys; returns how many were held. No rebuild."""
        ...

    def search(
        self, query: npt.NDArray[np.float32], k: int, *, where: IndexFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (key, cosine) pairs, best first, among memories passing ``where``."""
        ...

    def save(self, directory: Path) -> None:
        """Persist atomically (write to temp, then rename) together with ``applied_seq``."""
        ...


@runtime_checkable
class SparseIndex(Protocol):
    """BM25 keyword search over the same memories."""

    applied_seq: int

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def keys(self) -> npt.NDArray[np.int64]:
        """All keys held."""
        ...

    def add(
        self, keys: npt.NDArray[np.int64], texts: Sequence[str], tags: Sequence[IndexTags]
    ) -> None:
        """Insert or replace documents."""
        ...

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> None:
        """Replace the tags of keys already held."""
        ...

    def remove(self, keys: Iterable[int]) -> int:
        """Remove keys; returns how many were held."""
        ...

    def search(
        self, query: str, k: int, *, where: IndexFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (key, BM25 score) pairs, best first; only documents sharing a term score."""
        ...

    def save(self, directory: Path) -> None:
        """Persist atomically together with ``applied_seq``."""
        ...
