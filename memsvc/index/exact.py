"""Exact dense search in NumPy: the reference :class:`VectorIndex` and the oracle for FAISS.

Every search scores every memory that passes the filter, so results are exact and a filtered
search always returns ``min(k, passing)`` hits. Fast enough for tests and small namespaces;
deterministic (ties are broken by insertion order).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memsvc.config import IndexSettings
from memsvc.errors import IndexOutOfSync
from memsvc.index.base import IndexFilter, IndexTags
from memsvc.index.snapshot import read_snapshot, write_snapshot
from memsvc.index.tags import TagTable, last_occurrences
from memsvc.index.vectors import check_batch, check_query, exact_top_k

__all__ = ["ExactIndex"]

logger = logging.getLogger(__name__)

_KIND = "exact"
_VECTORS_FILE = "vectors.npy"
_COMPACT_RATIO = 0.2
_COMPACT_MIN_SLOTS = 1_024


class ExactIndex:
    """Brute-force inner-product search over vectors held in one NumPy matrix.

    Args:
        dim: vector size.

    Not thread-safe for writes: the owner serialises writes against reads.
    """

    def __init__(self, dim: int) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self._dim = dim
        self.applied_seq = 0
        self.model_id = ""  # the embedding model of the vectors, recorded in snapshots
        self._tags = TagTable()
        self._matrix = np.zeros((64, dim), dtype=np.float32)

    @classmethod
    def from_settings(cls, cfg: IndexSettings, dim: int) -> ExactIndex:
        """An empty index (exact search has no tunable settings)."""
        del cfg
        return cls(dim)

    @property
    def dim(self) -> int:
        """Vector size."""
        return self._dim

    def __len__(self) -> int:
        return len(self._tags)

    def __contains__(self, key: object) -> bool:
        return key in self._tags

    def keys(self) -> npt.NDArray[np.int64]:
        """All keys held."""
        return self._tags.keys()

    def stats(self) -> dict[str, Any]:
        """Counts for operators: live vectors, allocated slots, tombstones."""
        return {
            "type": _KIND,
            "count": len(self._tags),
            "slots": self._tags.slots,
            "tombstones": self._tags.tombstones,
            "dim": self._dim,
            "applied_seq": self.applied_seq,
        }

    def add(
        self,
        keys: npt.NDArray[np.int64],
        vectors: npt.NDArray[np.float32],
        tags: Sequence[IndexTags],
    ) -> None:
        """Insert or replace vectors (the last entry wins when a key repeats)."""
        key_array, matrix = check_batch(keys, vectors, tags, dim=self._dim)
        rows = last_occurrences(key_array)
        positions, _ = self._tags.upsert(key_array[rows], [tags[i] for i in rows])
        needed = self._tags.slots
        if needed > len(self._matrix):
            grown = np.zeros((max(needed, 2 * len(self._matrix)), self._dim), dtype=np.float32)
            grown[: len(self._matrix)] = self._matrix
            self._matrix = grown
        self._matrix[positions] = matrix[rows]
        self._maybe_compact()

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> None:
        """Replace the tags of keys already held; unknown keys are ignored."""
        self._tags.retag(np.asarray(keys, dtype=np.int64), tags)

    def remove(self, keys: Iterable[int]) -> int:
        """Remove keys; returns how many were held."""
        removed = len(self._tags.remove(keys))
        self._maybe_compact()
        return removed

    def _maybe_compact(self) -> None:
        slots = self._tags.slots
        if slots >= _COMPACT_MIN_SLOTS and self._tags.tombstones > _COMPACT_RATIO * slots:
            self.compact()

    def compact(self) -> None:
        """Drop the space held by removed and replaced vectors."""
        kept = self._tags.compact()
        self._matrix[: len(kept)] = self._matrix[kept]
        logger.debug("exact index compacted to %d vectors", len(kept))

    def search(
        self, query: npt.NDArray[np.float32], k: int, *, where: IndexFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (key, inner product) pairs, best first, among memories passing ``where``."""
        q = check_query(query, dim=self._dim)
        if k <= 0:
            return []
        positions = self._tags.candidates(where)
        rows, scores = exact_top_k(self._matrix[positions], q, k)
        keys = self._tags.keys_at(positions[rows])
        return list(zip(keys.tolist(), scores.tolist(), strict=True))

    def save(self, directory: Path) -> None:
        """Persist atomically with ``applied_seq`` (see :mod:`memsvc.index.snapshot`)."""

        def write_files(folder: Path) -> None:
            np.save(folder / _VECTORS_FILE, self._matrix[: self._tags.slots])
            self._tags.save(folder)

        meta = {
            "applied_seq": self.applied_seq,
            "model_id": self.model_id,
            "tags_digest": self._tags.digest(),
            "dim": self._dim,
            "count": len(self),
        }
        write_snapshot(directory, kind=_KIND, meta=meta, write_files=write_files)

    @classmethod
    def load(cls, directory: Path, cfg: IndexSettings, dim: int) -> ExactIndex:
        """Read the index saved in ``directory``; an empty one when nothing was saved there.

        Raises:
            IndexOutOfSync: the snapshot is corrupt or was saved with another dimension.
        """
        index = cls.from_settings(cfg, dim)
        snapshot = read_snapshot(directory, kind=_KIND)
        if snapshot is None:
            return index
        if snapshot.int_field("dim") != dim:
            raise IndexOutOfSync("stored index has another dimension", detail={"dim": dim})
        tags = TagTable.load(snapshot.path, digest=snapshot.str_field("tags_digest"))
        try:
            matrix = np.load(snapshot.path / _VECTORS_FILE, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexOutOfSync("stored vectors are unreadable") from exc
        if matrix.dtype != np.float32 or matrix.shape != (tags.slots, dim):
            raise IndexOutOfSync("stored vectors disagree with the stored tags")
        if len(tags) != snapshot.int_field("count"):
            raise IndexOutOfSync("stored index count disagrees with its tags")
        index._tags = tags
        index._matrix = np.ascontiguousarray(matrix)
        index.applied_seq = snapshot.int_field("applied_seq")
        index.model_id = str(snapshot.meta.get("model_id", ""))
        return index
