"""FAISS dense index: exact (flat) while small, HNSW past ``IndexSettings.approximate_after``.

Two layouts, one :class:`~memsvc.index.tags.TagTable` for filters:

* **flat**: ``IndexIDMap2(IndexFlatIP)`` whose ids are the memory keys. An upsert is
  ``remove_ids`` then ``add_with_ids``; a removal is ``remove_ids``. Nothing is rebuilt.
* **hnsw**: ``IndexHNSWFlat`` (inner product) whose ids are tag-table *positions*. HNSW cannot
  remove, so a removed or replaced vector becomes a tombstone in the tag table (excluded from
  every search by an ``IDSelectorBitmap``) and :meth:`FaissIndex.compact` rebuilds the graph
  once tombstones pass 20% of it.

A filtered search returns ``k`` hits whenever ``k`` memories pass the filter (DESIGN.md): the
tag table says exactly which positions pass; a small subset is scored exactly in NumPy, a large
one is searched by FAISS restricted to it with an ID selector, widening HNSW's ``efSearch``
until ``k`` are found and falling back to exact scoring of the subset. There is no fixed
over-fetch. ``faiss`` is imported lazily so that importing this module stays cheap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memsvc.config import IndexSettings
from memsvc.errors import ConfigError, IndexOutOfSync
from memsvc.index.base import IndexFilter, IndexTags
from memsvc.index.snapshot import read_snapshot, write_snapshot
from memsvc.index.tags import TagTable, last_occurrences
from memsvc.index.vectors import check_batch, check_query, top_k_order

__all__ = ["FaissIndex"]

logger = logging.getLogger(__name__)

_KIND = "faiss"
_INDEX_FILE = "vectors.faiss"
_FLAT = "flat"
_HNSW = "hnsw"
_TOMBSTONE_RATIO = 0.2
_COMPACT_MIN_SLOTS = 1_024
_WIDEN_FACTOR = 4
_WIDEN_LIMIT = 16  # efSearch grows to at most this many times its start before exact fallback
_CHUNK_ROWS = 16_384  # rows reconstructed at a time when scoring a subset exactly


def _import_faiss() -> Any:
    try:
        import faiss  # heavy: imported only when a FAISS index is built
    except ImportError as exc:
        raise ConfigError("the faiss backend needs the faiss-cpu package") from exc
    return faiss


@contextmanager
def _faiss_errors(operation: str) -> Iterator[None]:
    """Turn a FAISS ``RuntimeError`` into :class:`IndexOutOfSync` at the adapter boundary."""
    try:
        yield
    except RuntimeError as exc:
        raise IndexOutOfSync(
            "vector index operation failed; rebuild the index",
            detail={"operation": operation},
        ) from exc


class FaissIndex:
    """FAISS-backed :class:`~memsvc.index.base.VectorIndex` with exact filtered top-k.

    Args:
        cfg: index settings (``approximate_after``, ``hnsw_m``, ``hnsw_ef_search``).
        dim: vector size.
        exact_max: a filter passing at most this many memories is scored exactly in NumPy.
        exact_fraction: ... or at most this fraction of the index.
        is_auto_compact: rebuild the HNSW graph as soon as tombstones pass 20% of it. Set it to
            false to call :meth:`compact` from a background task instead.

    Not thread-safe for writes: the owner serialises writes against reads. Searches do not
    modify the index and may run concurrently with each other.
    """

    def __init__(
        self,
        cfg: IndexSettings,
        dim: int,
        *,
        exact_max: int = 20_000,
        exact_fraction: float = 0.05,
        is_auto_compact: bool = True,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self._faiss = _import_faiss()
        self._cfg = cfg
        self._dim = dim
        self._exact_max = exact_max
        self._exact_fraction = exact_fraction
        self._is_auto_compact = is_auto_compact
        self.applied_seq = 0
        self._tags = TagTable()
        self._index: Any = self._new_flat()
        self._is_hnsw = False

    @classmethod
    def from_settings(cls, cfg: IndexSettings, dim: int) -> FaissIndex:
        """An empty index with default tuning."""
        return cls(cfg, dim)

    # -- reading -------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Vector size."""
        return self._dim

    @property
    def index_type(self) -> str:
        """``"flat"`` (exact) or ``"hnsw"`` (approximate)."""
        return _HNSW if self._is_hnsw else _FLAT

    def __len__(self) -> int:
        return len(self._tags)

    def __contains__(self, key: object) -> bool:
        return key in self._tags

    def keys(self) -> npt.NDArray[np.int64]:
        """All keys held."""
        return self._tags.keys()

    def stats(self) -> dict[str, Any]:
        """Counts for operators: type, live vectors, slots, tombstones, ``applied_seq``."""
        return {
            "type": self.index_type,
            "count": len(self._tags),
            "slots": self._tags.slots,
            "tombstones": self._tags.tombstones if self._is_hnsw else 0,
            "dim": self._dim,
            "applied_seq": self.applied_seq,
        }

    # -- writing -------------------------------------------------------------------------------

    def _new_flat(self) -> Any:
        return self._faiss.IndexIDMap2(self._faiss.IndexFlatIP(self._dim))

    def _new_hnsw(self) -> Any:
        index = self._faiss.IndexHNSWFlat(
            self._dim, self._cfg.hnsw_m, self._faiss.METRIC_INNER_PRODUCT
        )
        index.hnsw.efConstruction = max(40, 2 * self._cfg.hnsw_m)
        index.hnsw.efSearch = self._cfg.hnsw_ef_search
        return index

    def add(
        self,
        keys: npt.NDArray[np.int64],
        vectors: npt.NDArray[np.float32],
        tags: Sequence[IndexTags],
    ) -> None:
        """Insert or replace vectors (the last entry wins when a key repeats); no rebuild.

        Raises:
            InvalidInput: shapes or values are unusable.
            IndexOutOfSync: FAISS failed; the index must be rebuilt.
        """
        key_array, matrix = check_batch(keys, vectors, tags, dim=self._dim)
        if len(key_array) == 0:
            return
        rows = last_occurrences(key_array)
        unique_keys, unique_vectors = key_array[rows], np.ascontiguousarray(matrix[rows])
        unique_tags = [tags[i] for i in rows]
        with _faiss_errors("add"):
            if self._is_hnsw:
                # HNSW ids are positions: the graph grows in step with the tag table.
                self._tags.upsert(unique_keys, unique_tags)
                self._index.add(unique_vectors)
            else:
                held = self._tags.keys_at(self._tags.positions_of(unique_keys))
                if len(held):
                    self._index.remove_ids(held)
                self._tags.upsert(unique_keys, unique_tags)
                self._index.add_with_ids(unique_vectors, unique_keys)
        if not self._is_hnsw and len(self) > self._cfg.approximate_after:
            self.compact()
        else:
            self._maybe_compact()

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> None:
        """Replace the tags of keys already held; unknown keys are ignored."""
        self._tags.retag(np.asarray(keys, dtype=np.int64), tags)

    def remove(self, keys: Iterable[int]) -> int:
        """Remove keys; returns how many were held. No rebuild (HNSW: tombstones)."""
        positions = self._tags.remove(keys)
        if len(positions) and not self._is_hnsw:
            with _faiss_errors("remove"):
                self._index.remove_ids(self._tags.keys_at(positions))
        self._maybe_compact()
        return len(positions)

    def _maybe_compact(self) -> None:
        slots, tombstones = self._tags.slots, self._tags.tombstones
        if slots < _COMPACT_MIN_SLOTS or tombstones <= _TOMBSTONE_RATIO * slots:
            return
        if not self._is_hnsw or self._is_auto_compact:
            self.compact()

    @property
    def needs_compaction(self) -> bool:
        """Whether tombstones exceed 20% of an HNSW graph (see :meth:`compact`)."""
        return self._is_hnsw and self._tags.tombstones > _TOMBSTONE_RATIO * self._tags.slots

    def compact(self) -> None:
        """Drop tombstones and choose the layout for the current size (rebuilds HNSW).

        Flat while at most ``approximate_after`` vectors are held, HNSW above.
        """
        is_large = len(self) > self._cfg.approximate_after
        if not self._is_hnsw and not is_large:
            self._tags.compact()  # flat ids are keys: nothing to rebuild
            return
        started = time.perf_counter()
        with _faiss_errors("compact"):
            live = self._tags.live_positions()
            ids = live if self._is_hnsw else self._tags.keys_at(live)
            vectors = self._reconstruct(ids)
            self._tags.compact()
            keys = self._tags.keys()
            if is_large:
                index = self._new_hnsw()
                index.add(vectors)
                self._is_hnsw = True
            else:
                index = self._new_flat()
                index.add_with_ids(vectors, keys)
                self._is_hnsw = False
            self._index = index
        logger.info(
            "vector index rebuilt as %s: %d vectors in %.1fs",
            self.index_type,
            len(keys),
            time.perf_counter() - started,
        )

    def _reconstruct(self, ids: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        if len(ids) == 0:
            return np.empty((0, self._dim), dtype=np.float32)
        batch = np.ascontiguousarray(ids, dtype=np.int64)
        return np.asarray(self._index.reconstruct_batch(batch), dtype=np.float32)

    # -- searching -----------------------------------------------------------------------------

    def search(
        self, query: npt.NDArray[np.float32], k: int, *, where: IndexFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (key, inner product) pairs, best first, among memories passing ``where``.

        Returns ``min(k, passing)`` hits: never fewer because of the filter.

        Raises:
            InvalidQuery: the query vector is unusable.
            IndexOutOfSync: FAISS failed.
        """
        q = check_query(query, dim=self._dim)
        if k <= 0 or len(self) == 0:
            return []
        has_tombstones = self._is_hnsw and self._tags.tombstones > 0
        with _faiss_errors("search"):
            if where is None and not has_tombstones:
                positions, scores = self._search_faiss(q, k, None, wanted=min(k, len(self)))
                return self._hits(positions, scores)
            mask = self._tags.mask(where)
            passing = int(np.count_nonzero(mask))
            if passing == 0:
                return []
            wanted = min(k, passing)
            if passing <= max(self._exact_max, self._exact_fraction * len(self)):
                return self._hits(*self._exact(q, k, mask))
            restrict = None if passing == len(self) and not has_tombstones else mask
            positions, scores = self._search_faiss(q, k, restrict, wanted=wanted)
            if len(positions) < wanted:
                logger.debug(
                    "approximate search found %d of %d; scoring exactly", len(positions), wanted
                )
                positions, scores = self._exact(q, k, mask)
            return self._hits(positions, scores)

    def _hits(
        self, positions: npt.NDArray[np.intp], scores: npt.NDArray[np.float32]
    ) -> list[tuple[int, float]]:
        keys = self._tags.keys_at(positions)
        return list(zip(keys.tolist(), scores.tolist(), strict=True))

    def _search_faiss(
        self,
        q: npt.NDArray[np.float32],
        k: int,
        mask: npt.NDArray[np.bool_] | None,
        *,
        wanted: int,
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """FAISS search restricted to ``mask``; returns tag-table positions and scores."""
        if self._is_hnsw:
            return self._search_hnsw(q, k, mask, wanted=wanted)
        fx = self._faiss
        params = None
        if mask is not None:
            selector = fx.IDSelectorBatch(self._tags.keys_at(np.flatnonzero(mask)))
            params = fx.SearchParameters(sel=selector)
        scores, ids = self._index.search(q, k, params=params)
        found = ids[0] >= 0
        return self._tags.positions_of(ids[0][found]), scores[0][found]

    def _search_hnsw(
        self,
        q: npt.NDArray[np.float32],
        k: int,
        mask: npt.NDArray[np.bool_] | None,
        *,
        wanted: int,
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """Widen ``efSearch`` until ``wanted`` hits pass, up to a limit (then the caller scores
        exactly). HNSW ids are positions, so the filter is a bitmap over them."""
        fx = self._faiss
        selector = bitmap = None
        if mask is not None:
            bitmap = np.packbits(mask, bitorder="little")  # must outlive the search
            selector = fx.IDSelectorBitmap(len(mask), fx.swig_ptr(bitmap))
        start = max(self._cfg.hnsw_ef_search, k)
        ef = start
        while True:
            params = fx.SearchParametersHNSW(efSearch=ef)
            if selector is not None:
                params.sel = selector
            scores, ids = self._index.search(q, k, params=params)
            found = ids[0] >= 0
            if np.count_nonzero(found) >= wanted or ef >= _WIDEN_LIMIT * start:
                return ids[0][found].astype(np.intp), scores[0][found]
            ef *= _WIDEN_FACTOR

    def _exact(
        self, q: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """Exact top-k over the positions in ``mask``, reconstructing vectors chunk by chunk."""
        positions = np.flatnonzero(mask)
        best_positions: list[npt.NDArray[np.intp]] = []
        best_scores: list[npt.NDArray[np.float32]] = []
        for start in range(0, len(positions), _CHUNK_ROWS):
            chunk = positions[start : start + _CHUNK_ROWS]
            ids = chunk if self._is_hnsw else self._tags.keys_at(chunk)
            scores = (self._reconstruct(ids) @ q[0]).astype(np.float32, copy=False)
            order = top_k_order(scores, k)
            best_positions.append(chunk[order])
            best_scores.append(scores[order])
        all_positions = np.concatenate(best_positions)
        all_scores = np.concatenate(best_scores)
        order = top_k_order(all_scores, k)
        return all_positions[order], all_scores[order]

    # -- persistence ---------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Persist atomically with ``applied_seq`` (see :mod:`memsvc.index.snapshot`).

        Raises:
            IndexOutOfSync: FAISS could not write the index.
        """

        def write_files(folder: Path) -> None:
            with _faiss_errors("save"):
                self._faiss.write_index(self._index, str(folder / _INDEX_FILE))
            self._tags.save(folder)

        meta = {
            "applied_seq": self.applied_seq,
            "dim": self._dim,
            "index_type": self.index_type,
            "count": len(self),
            "ntotal": int(self._index.ntotal),
        }
        write_snapshot(directory, kind=_KIND, meta=meta, write_files=write_files)

    @classmethod
    def load(
        cls,
        directory: Path,
        cfg: IndexSettings,
        dim: int,
        *,
        exact_max: int = 20_000,
        exact_fraction: float = 0.05,
        is_auto_compact: bool = True,
    ) -> FaissIndex:
        """Read the index saved in ``directory``; an empty one when nothing was saved there.

        The keyword arguments are those of the constructor (tuning is not stored).

        Raises:
            IndexOutOfSync: the snapshot is corrupt, or disagrees with ``dim`` or with itself.
        """
        index = cls(
            cfg,
            dim,
            exact_max=exact_max,
            exact_fraction=exact_fraction,
            is_auto_compact=is_auto_compact,
        )
        snapshot = read_snapshot(directory, kind=_KIND)
        if snapshot is None:
            return index
        if snapshot.int_field("dim") != dim:
            raise IndexOutOfSync("stored index has another dimension", detail={"dim": dim})
        index_type = snapshot.str_field("index_type")
        tags = TagTable.load(snapshot.path)
        with _faiss_errors("load"):
            loaded = index._faiss.read_index(str(snapshot.path / _INDEX_FILE))
        index._tags = tags
        index._index = loaded
        index._is_hnsw = index_type == _HNSW
        index._check_loaded(index_type, count=snapshot.int_field("count"))
        index.applied_seq = snapshot.int_field("applied_seq")
        return index

    def _check_loaded(self, index_type: str, *, count: int) -> None:
        fx, loaded, tags = self._faiss, self._index, self._tags
        if loaded.d != self._dim or loaded.metric_type != fx.METRIC_INNER_PRODUCT:
            raise IndexOutOfSync("stored FAISS index has another dimension or metric")
        if len(tags) != count:
            raise IndexOutOfSync("stored index count disagrees with its tags")
        if index_type == _HNSW:
            if not isinstance(loaded, fx.IndexHNSWFlat) or loaded.ntotal != tags.slots:
                raise IndexOutOfSync("stored HNSW index disagrees with its tags")
        elif index_type == _FLAT and isinstance(loaded, fx.IndexIDMap2):
            ids = np.sort(fx.vector_to_array(loaded.id_map))
            if not np.array_equal(ids, np.sort(tags.keys())):
                raise IndexOutOfSync("stored flat index holds other keys than its tags")
        else:
            raise IndexOutOfSync("stored FAISS index has an unknown layout")
