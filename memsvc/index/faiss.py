"""FAISS dense index: exact (flat) while small, HNSW past ``IndexSettings.approximate_after``.

Index by size: when a namespace passes ``approximate_after`` the HNSW graph is built in a
background thread (``IndexSettings.background_build``) from chunks of the flat vectors, while
searches and writes go on against the flat index; vectors added meanwhile are appended to the
graph at the end, under the write lock, and the new layout replaces the old one in a single
reference assignment, so a search never pauses and never sees half a graph. Positions do not
change in the swap, so the tag table is untouched. The graph stores its vectors as float16 by
default (``hnsw_storage``): half the memory, cosine error below 1e-3; ``sq8`` stores one byte per
dimension (FAISS's 8-bit scalar quantiser, its per-dimension ranges trained on a sample of the
vectors when the graph is built), a quarter of float32. Scores then come from the decoded codes;
no exact copy is kept, so there is no exact re-ranking.

Both layouts store vectors at :class:`~memsvc.index.tags.TagTable` *positions*: FAISS id ``i``
is position ``i`` (``IndexFlatIP`` or ``IndexHNSWFlat``, inner product), and the tag table maps
positions to the memory keys (the database's surrogate keys, stable across saves and rebuilds).
An upsert appends at a new position and a removal tombstones the old one, in O(1);
:meth:`FaissIndex.compact` drops tombstones once they pass 20% of the positions (a memcpy for
flat, a graph rebuild for HNSW, which cannot remove at all).

Why positions rather than ``IndexIDMap2`` with the keys as ids: measured at 100k x 384-d,
``remove_ids`` moves every later vector and rebuilds the reverse map on each call, an
``IDSelectorBatch`` over half the keys takes ~10 ms to build per query, and
``reconstruct_batch`` of 5k vectors ~13 ms; with positions a filter is an ``IDSelectorBitmap``
(packed from the tag-table mask in microseconds) and a subset is gathered straight from a
zero-copy view of FAISS's own vector storage.

A filtered search returns ``k`` hits whenever ``k`` memories pass the filter (DESIGN.md): the
tag table says exactly which positions pass. Exact scoring gathers a few of them into NumPy, or
scans FAISS's flat storage with the bitmap selector (it skips the rest); a flat index always
answers that way. HNSW scores subsets of up to ``exact_max`` / ``exact_fraction`` exactly and
searches larger ones through the graph restricted by the selector, widening ``efSearch`` until
``k`` are found, then falling back to exact scoring. There is no fixed over-fetch. ``faiss`` is
imported lazily so that importing this module stays cheap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

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
_GATHER_MIN = 256  # exact scoring gathers at most this many rows, or this fraction of them:
_GATHER_FRACTION = 0.03  # past it, a selector scan of FAISS's flat storage is faster
_BUILD_CHUNK = 20_000  # vectors copied from the flat index per hold of the write lock
_SWAP_TAIL = 1_024  # the build chases new adds until at most this many are left for the swap
_TRAIN_SAMPLE = 65_536  # sq8: vectors (an even spread of positions) that train the quantiser
_FLOAT32, _FLOAT16, _SQ8 = "float32", "float16", "sq8"


@dataclass(frozen=True, slots=True)
class _Layout:
    """One FAISS index and how it stores vectors; replaced whole, never changed in place."""

    index: Any
    is_hnsw: bool
    storage: str = _FLOAT32  # float32, float16 or sq8 (only HNSW layouts compress)

    @property
    def is_coded(self) -> bool:
        """Whether the vectors sit in a FAISS scalar quantiser (float16 or sq8 codes)."""
        return self.storage != _FLOAT32


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
        exact_max: (HNSW) a filter passing at most this many memories is scored exactly
            rather than through the graph, which finds few hits when few nodes pass.
        exact_fraction: ... or at most this fraction of the index.
        is_auto_compact: rebuild the HNSW graph as soon as tombstones pass 20% of it. Set it to
            false to call :meth:`compact` from a background task instead.
        is_background_build: past ``approximate_after``, build the HNSW graph in a thread and
            swap it in (``from_settings`` follows ``IndexSettings.background_build``); when
            false the graph is built inside the ``add`` that crosses the threshold.

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
        is_background_build: bool = False,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self._faiss = _import_faiss()
        self._cfg = cfg
        self._dim = dim
        self._exact_max = exact_max
        self._exact_fraction = exact_fraction
        self._is_auto_compact = is_auto_compact
        self._is_background = is_background_build
        self.applied_seq = 0
        self.model_id = ""  # the embedding model of the vectors, recorded in snapshots
        self._tags = TagTable()
        self._layout = _Layout(self._new_flat(), is_hnsw=False)
        self._write_lock = threading.RLock()
        self._builder: threading.Thread | None = None
        self._build_error: BaseException | None = None
        self.last_build: dict[str, float] = {}

    @classmethod
    def from_settings(cls, cfg: IndexSettings, dim: int) -> FaissIndex:
        """An empty index with default tuning (background build as configured)."""
        return cls(cfg, dim, is_background_build=cfg.background_build)

    # the current FAISS index, for code that only reads it once
    @property
    def _index(self) -> Any:
        return self._layout.index

    @property
    def _is_hnsw(self) -> bool:
        return self._layout.is_hnsw

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
            "tombstones": self._tags.tombstones,
            "dim": self._dim,
            "applied_seq": self.applied_seq,
            "building": self.is_building,
            "storage": self._layout.storage,
            **{f"last_build_{k}": v for k, v in self.last_build.items()},
        }

    @property
    def is_building(self) -> bool:
        """Whether an HNSW graph is being built in the background."""
        builder = self._builder
        return builder is not None and builder.is_alive()

    def wait_for_build(self, timeout: float | None = None) -> bool:
        """Wait until no background build runs; returns whether none does.

        Raises:
            IndexOutOfSync: the last background build failed (the flat index still serves).
        """
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        if self._build_error is not None:
            error, self._build_error = self._build_error, None
            raise IndexOutOfSync("background HNSW build failed") from error
        return not self.is_building

    # -- writing -------------------------------------------------------------------------------

    def _new_flat(self) -> Any:
        return self._faiss.IndexFlatIP(self._dim)

    def _new_hnsw(self, train: npt.NDArray[np.float32] | None = None) -> _Layout:
        """An empty HNSW layout as configured; ``sq8`` is trained on ``train`` (required)."""
        fx = self._faiss
        storage = self._cfg.hnsw_storage
        metric, m = fx.METRIC_INNER_PRODUCT, self._cfg.hnsw_m
        if storage == _FLOAT16:
            index = fx.IndexHNSWSQ(self._dim, fx.ScalarQuantizer.QT_fp16, m, metric)
        elif storage == _SQ8:
            if train is None or len(train) == 0:
                raise ValueError("an sq8 HNSW layout needs training vectors")
            index = fx.IndexHNSWSQ(self._dim, fx.ScalarQuantizer.QT_8bit, m, metric)
            index.train(np.ascontiguousarray(train, dtype=np.float32))
        else:
            index = fx.IndexHNSWFlat(self._dim, m, metric)
        index.hnsw.efConstruction = max(40, 2 * self._cfg.hnsw_m)
        index.hnsw.efSearch = self._cfg.hnsw_ef_search
        return _Layout(index, is_hnsw=True, storage=storage)

    def _train_sample(self) -> npt.NDArray[np.float32] | None:
        """Vectors that train an ``sq8`` quantiser: an even spread of up to ``_TRAIN_SAMPLE``
        positions of the current index, as float32 (``None`` for other storages)."""
        if self._cfg.hnsw_storage != _SQ8:
            return None
        n = int(self._index.ntotal)
        positions = np.linspace(0, n - 1, num=min(n, _TRAIN_SAMPLE), dtype=np.int64)
        return self._rows(positions)

    def _rows(
        self, positions: npt.NDArray[np.integer[Any]], layout: _Layout | None = None
    ) -> npt.NDArray[np.float32]:
        """The vectors at ``positions`` as a float32 copy (sq8 codes are decoded)."""
        layout = layout or self._layout
        if layout.storage != _SQ8:
            return np.asarray(self._vectors(layout)[positions], dtype=np.float32)
        storage = self._faiss.downcast_index(layout.index.storage)
        codes = self._codes(layout)[positions]
        if len(codes) == 0:
            return np.empty((0, self._dim), dtype=np.float32)
        return cast("npt.NDArray[np.float32]", storage.sa_decode(np.ascontiguousarray(codes)))

    def _codes(self, layout: _Layout) -> npt.NDArray[np.uint8]:
        """A read-only, zero-copy view of a scalar quantiser's codes, one row per position."""
        fx = self._faiss
        storage = fx.downcast_index(layout.index.storage)
        n, size = int(layout.index.ntotal), int(storage.code_size)
        if n == 0:
            return np.empty((0, size), dtype=np.uint8)
        raw = fx.rev_swig_ptr(storage.codes.data(), n * size)
        return np.frombuffer(raw, dtype=np.uint8).reshape(n, size)

    def _vectors(self, layout: _Layout | None = None) -> npt.NDArray[Any]:
        """A read-only, zero-copy view of FAISS's vectors by position, shape ``(slots, dim)``:
        float32, or float16 for an HNSW layout that stores them so (cast what you gather).
        An sq8 layout has no such view: use :meth:`_rows`.

        Valid until the next write (an add may move FAISS's buffer): never keep it.
        """
        layout = layout or self._layout
        if layout.storage == _SQ8:
            raise TypeError("sq8 codes have no float view; gather rows with _rows")
        n = int(layout.index.ntotal)
        if n == 0:
            return np.empty((0, self._dim), dtype=np.float32)
        fx = self._faiss
        if layout.storage == _FLOAT16:
            return self._codes(layout).view(np.float16)  # a view of a read-only buffer
        flat = fx.downcast_index(layout.index.storage) if layout.is_hnsw else layout.index
        view = fx.rev_swig_ptr(flat.get_xb(), n * self._dim).reshape(n, self._dim)
        view.flags.writeable = False
        return cast("npt.NDArray[np.float32]", view)

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
        with self._write_lock:
            self._tags.upsert(key_array[rows], [tags[i] for i in rows])
            with _faiss_errors("add"):
                self._index.add(np.ascontiguousarray(matrix[rows]))
            if self._index.ntotal != self._tags.slots:
                raise IndexOutOfSync("vector index and its tags diverged; rebuild the index")
            if not self._is_hnsw and len(self) > self._cfg.approximate_after:
                if self._is_background:
                    self._start_build()
                else:
                    self.compact()
            else:
                self._maybe_compact()

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> None:
        """Replace the tags of keys already held; unknown keys are ignored."""
        self._tags.retag(np.asarray(keys, dtype=np.int64), tags)

    def remove(self, keys: Iterable[int]) -> int:
        """Remove keys; returns how many were held. O(1) each: tombstones, no rebuild."""
        with self._write_lock:
            removed = len(self._tags.remove(keys))
            self._maybe_compact()
        return removed

    @property
    def needs_compaction(self) -> bool:
        """Whether tombstones exceed 20% of the positions (see :meth:`compact`)."""
        slots = self._tags.slots
        return slots >= _COMPACT_MIN_SLOTS and self._tags.tombstones > _TOMBSTONE_RATIO * slots

    def _maybe_compact(self) -> None:
        # A flat compaction is a memcpy; an HNSW one rebuilds the graph, which a service may
        # prefer to run in the background (is_auto_compact=False). Positions must not move
        # while a background build copies them.
        if self.is_building:
            return
        if self.needs_compaction and (not self._is_hnsw or self._is_auto_compact):
            self.compact()

    def prune_strings(self) -> int:
        """Forget scope strings no live vector uses (erasure); returns how many were dropped."""
        return self._tags.prune_strings()

    def compact(self) -> None:
        """Drop tombstones and pick the layout for the current size (flat up to
        ``approximate_after`` vectors, HNSW above). Rebuilds an HNSW graph, in the caller's
        thread; waits for a background build first."""
        self.wait_for_build()
        started = time.perf_counter()
        with self._write_lock, _faiss_errors("compact"):
            live = self._rows(self._tags.live_positions())  # a float32 copy
            is_large = len(live) > self._cfg.approximate_after
            layout = (
                self._new_hnsw(train=live[:: max(1, len(live) // _TRAIN_SAMPLE)])
                if is_large
                else _Layout(self._new_flat(), is_hnsw=False)
            )
            layout.index.add(live)
            self._tags.compact()  # only once the new index exists: a failed build changes nothing
            self._layout = layout
        level = logging.INFO if is_large else logging.DEBUG
        logger.log(
            level,
            "vector index rebuilt as %s: %d vectors in %.2fs",
            self.index_type,
            len(live),
            time.perf_counter() - started,
        )

    def _start_build(self) -> None:
        """Start the background HNSW build unless one runs (called under the write lock)."""
        if self.is_building:
            return
        self._build_error = None
        self._builder = threading.Thread(
            target=self._build_in_background, name="faiss-hnsw-build", daemon=True
        )
        self._builder.start()

    def _build_in_background(self) -> None:
        """Copy the flat vectors in chunks (each under the write lock, so no add moves the
        buffer mid-copy), add them to a new graph outside it, then catch up and swap."""
        started = time.perf_counter()
        try:
            with self._write_lock:
                train = self._train_sample()
            layout = self._new_hnsw(train=train)  # sq8 trains outside the lock
            del train
            done = 0
            while True:
                with self._write_lock:
                    if int(self._index.ntotal) - done <= _SWAP_TAIL:
                        built_s = time.perf_counter() - started
                        swap_s = self._swap_in(layout, done)  # writes wait for a short tail
                        break
                    chunk = np.array(self._vectors()[done : done + _BUILD_CHUNK], np.float32)
                layout.index.add(chunk)  # FAISS releases the GIL: searches go on
                done += len(chunk)
        except BaseException as exc:
            self._build_error = exc
            logger.exception("background HNSW build failed; the flat index keeps serving")
            return
        self.last_build = {
            "vectors": float(layout.index.ntotal),
            "build_s": round(built_s, 3),
            "swap_ms": round(1000 * swap_s, 3),
        }
        logger.info(
            "vector index swapped to hnsw in the background: %d vectors, built in %.2fs, "
            "swapped in %.1f ms",
            layout.index.ntotal,
            built_s,
            1000 * swap_s,
        )

    def _swap_in(self, layout: _Layout, done: int) -> float:
        """Append the vectors added since the copy and make ``layout`` current (called under
        the write lock); returns the seconds it took."""
        swap_started = time.perf_counter()
        tail = np.array(self._vectors()[done:], dtype=np.float32)
        if len(tail):
            layout.index.add(tail)
        if layout.index.ntotal != self._tags.slots:
            raise IndexOutOfSync("background build and tags diverged")
        self._layout = layout  # one reference assignment: a search sees the old or the new
        return time.perf_counter() - swap_started

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
        layout = self._layout  # read once: a background swap must not change it mid-search
        with _faiss_errors("search"):
            if where is None and self._tags.tombstones == 0:
                wanted = min(k, len(self))
                positions, scores = self._search_faiss(layout, q, k, None, wanted=wanted)
                if len(positions) < wanted:  # HNSW came back short even after widening
                    positions, scores = self._exact(layout, q, k, self._tags.mask(None))
            else:
                positions, scores = self._search_filtered(layout, q, k, self._tags.mask(where))
        keys = self._tags.keys_at(positions)
        return list(zip(keys.tolist(), scores.tolist(), strict=True))

    def _search_filtered(
        self,
        layout: _Layout,
        q: npt.NDArray[np.float32],
        k: int,
        mask: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        passing = int(np.count_nonzero(mask))
        if passing == 0:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32)
        is_small = passing <= max(self._exact_max, self._exact_fraction * len(self))
        if not layout.is_hnsw or is_small:
            return self._exact(layout, q, k, mask)
        wanted = min(k, passing)
        restrict = None if passing == self._tags.slots else mask
        positions, scores = self._search_faiss(layout, q, k, restrict, wanted=wanted)
        if len(positions) < wanted:
            logger.debug("approximate search found %d of %d; exact", len(positions), wanted)
            return self._exact(layout, q, k, mask)
        return positions, scores

    def _search_faiss(
        self,
        layout: _Layout,
        q: npt.NDArray[np.float32],
        k: int,
        mask: npt.NDArray[np.bool_] | None,
        *,
        wanted: int,
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """Search the index itself (flat: exhaustive; HNSW: the graph, restricted to ``mask``).

        HNSW widens ``efSearch`` until ``wanted`` hits pass or a limit is reached (the caller
        then scores exactly).
        """
        fx = self._faiss
        selector = self._selector(mask)
        start = max(self._cfg.hnsw_ef_search, k)
        ef = start
        while True:
            params = (
                fx.SearchParametersHNSW(efSearch=ef) if layout.is_hnsw else fx.SearchParameters()
            )
            if selector is not None:
                params.sel = selector
            scores, ids = layout.index.search(q, k, params=params)
            found = ids[0] >= 0
            count = int(np.count_nonzero(found))
            if not layout.is_hnsw or count >= wanted or ef >= _WIDEN_LIMIT * start:
                return ids[0][found].astype(np.intp), scores[0][found]
            ef *= _WIDEN_FACTOR

    def _selector(self, mask: npt.NDArray[np.bool_] | None) -> Any:
        """An ``IDSelectorBitmap`` over positions (``None`` for no mask)."""
        if mask is None:
            return None
        bitmap = np.packbits(mask, bitorder="little")
        selector = self._faiss.IDSelectorBitmap(len(mask), self._faiss.swig_ptr(bitmap))
        selector.referenced_objects = [bitmap]  # FAISS's idiom: the C++ side only points into it
        return selector

    def _exact(
        self,
        layout: _Layout,
        q: npt.NDArray[np.float32],
        k: int,
        mask: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """Exact top-k over the positions in ``mask``.

        A few positions are gathered from the vector view and scored in NumPy; more are scored
        by an exhaustive FAISS scan of the flat vector storage that skips the others (measured
        at 100k x 384-d: gathering wins below ~3% of the positions, scanning above).
        """
        positions = np.flatnonzero(mask)
        if len(positions) <= max(_GATHER_MIN, _GATHER_FRACTION * len(mask)):
            rows = self._rows(positions, layout)
            scores = (rows @ q[0]).astype(np.float32, copy=False)
            order = top_k_order(scores, k)
            return positions[order], scores[order]
        fx = self._faiss
        storage = fx.downcast_index(layout.index.storage) if layout.is_hnsw else layout.index
        selector = self._selector(mask)
        found_scores, ids = storage.search(q, k, params=fx.SearchParameters(sel=selector))
        found = ids[0] >= 0
        return ids[0][found].astype(np.intp), found_scores[0][found]

    # -- persistence ---------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Persist atomically with ``applied_seq`` (see :mod:`memsvc.index.snapshot`).

        Raises:
            IndexOutOfSync: FAISS could not write the index.
        """
        with self._write_lock:  # the layout, the tags and the meta of one moment
            layout = self._layout

            def write_files(folder: Path) -> None:
                with _faiss_errors("save"):
                    self._faiss.write_index(layout.index, str(folder / _INDEX_FILE))
                self._tags.save(folder)

            meta = {
                "applied_seq": self.applied_seq,
                "model_id": self.model_id,
                "tags_digest": self._tags.digest(),
                "dim": self._dim,
                "index_type": _HNSW if layout.is_hnsw else _FLAT,
                "count": len(self),
                "ntotal": int(layout.index.ntotal),
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
        is_background_build: bool | None = None,
    ) -> FaissIndex:
        """Read the index saved in ``directory``; an empty one when nothing was saved there.

        The keyword arguments are those of the constructor (tuning is not stored);
        ``is_background_build`` defaults to ``cfg.background_build``.

        Raises:
            IndexOutOfSync: the snapshot is corrupt, or disagrees with ``dim`` or with itself.
        """
        index = cls(
            cfg,
            dim,
            exact_max=exact_max,
            exact_fraction=exact_fraction,
            is_auto_compact=is_auto_compact,
            is_background_build=(
                cfg.background_build if is_background_build is None else is_background_build
            ),
        )
        snapshot = read_snapshot(directory, kind=_KIND)
        if snapshot is None:
            return index
        if snapshot.int_field("dim") != dim:
            raise IndexOutOfSync("stored index has another dimension", detail={"dim": dim})
        index_type = snapshot.str_field("index_type")
        tags = TagTable.load(snapshot.path, digest=snapshot.str_field("tags_digest"))
        with _faiss_errors("load"):
            loaded = index._faiss.read_index(str(snapshot.path / _INDEX_FILE))
        index._tags = tags
        index._layout = _Layout(
            loaded, is_hnsw=index_type == _HNSW, storage=index._stored_as(loaded, index_type)
        )
        index._check_loaded(index_type, count=snapshot.int_field("count"))
        index.applied_seq = snapshot.int_field("applied_seq")
        index.model_id = str(snapshot.meta.get("model_id", ""))
        return index

    def _stored_as(self, loaded: Any, index_type: str) -> str:
        """How a loaded index stores its vectors: float32, float16 or sq8."""
        fx = self._faiss
        if index_type != _HNSW or not hasattr(loaded, "storage"):
            return _FLOAT32
        storage = fx.downcast_index(loaded.storage)
        if not isinstance(storage, fx.IndexScalarQuantizer):
            return _FLOAT32
        qtypes = {fx.ScalarQuantizer.QT_fp16: _FLOAT16, fx.ScalarQuantizer.QT_8bit: _SQ8}
        if storage.sq.qtype not in qtypes:
            raise IndexOutOfSync("stored FAISS index has an unknown vector storage")
        return qtypes[storage.sq.qtype]

    def _check_loaded(self, index_type: str, *, count: int) -> None:
        fx, loaded, tags = self._faiss, self._index, self._tags
        expected = fx.IndexHNSW if index_type == _HNSW else fx.IndexFlat
        if index_type not in (_FLAT, _HNSW) or not isinstance(loaded, expected):
            raise IndexOutOfSync("stored FAISS index has an unknown layout")
        if loaded.d != self._dim or loaded.metric_type != fx.METRIC_INNER_PRODUCT:
            raise IndexOutOfSync("stored FAISS index has another dimension or metric")
        if loaded.ntotal != tags.slots or len(tags) != count:
            raise IndexOutOfSync("stored FAISS index disagrees with its tags")
