"""Incremental BM25 keyword index: no rebuild on add or remove, a few ms per query at 100k.

Layout (all NumPy, no pickles on disk):

* per term: a slice of two shared *arenas* holding its postings (document positions and term
  frequencies), with room to grow (doubling; an outgrown slice moves to the arena's end and
  the arena is repacked once a third of it is abandoned), and the number of live documents
  holding it (``df``). One array pair per term cost ~250 bytes of NumPy headers per term, and
  most terms occur once or twice (issue 15: RAM per memory at 1M);
* per position: document length and a slice of a forward index (its term ids), so that a
  removal can lower ``df`` without the text;
* a :class:`~memsvc.index.tags.TagTable` for keys, filters and tombstones.

A replaced or removed document leaves a tombstone: its postings stay until compaction (run
when tombstones pass a quarter of the positions) but ``df``, the document count and the average
length are updated at once, so scores always equal those of a fresh build over the live
documents. A query accumulates ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))``
(Lucene's non-negative idf) into a dense array over positions, then applies the filter mask:
every document that shares a query term and passes the filter is scored, so a filtered search
returns ``k`` hits whenever ``k`` such documents exist.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memsvc.errors import IndexOutOfSync, InvalidInput
from memsvc.index.base import IndexFilter, IndexTags
from memsvc.index.snapshot import Snapshot, read_snapshot, write_snapshot
from memsvc.index.tags import TagTable, last_occurrences
from memsvc.index.tokenize import Tokenizer
from memsvc.index.vectors import top_k_order

__all__ = ["Bm25Index"]

logger = logging.getLogger(__name__)

_KIND = "bm25"
_ARRAYS_FILE = "bm25.npz"
_TERMS_FILE = "terms.json"
_COMPACT_RATIO = 0.25
_COMPACT_MIN_SLOTS = 1_024
_REPACK_MIN = 1 << 16  # abandoned arena slots tolerated before a repack
_ARRAYS = (
    "post_offsets",
    "post_pos",
    "post_tf",
    "df",
    "doc_len",
    "doc_start",
    "doc_terms",
    "fwd",
)


def _grown(array: npt.NDArray[Any], needed: int, *, minimum: int = 64) -> npt.NDArray[Any]:
    """``array`` with room for ``needed`` items (doubling), contents kept."""
    if needed <= len(array):
        return array
    out = np.zeros(max(needed, 2 * len(array), minimum), dtype=array.dtype)
    out[: len(array)] = array
    return out


def _is_consistent(arrays: dict[str, npt.NDArray[Any]], *, terms: list[str], slots: int) -> bool:
    """Whether stored BM25 arrays fit together (a damaged file must not load half-way)."""
    n_terms = len(terms)
    offsets, pos, fwd = arrays["post_offsets"], arrays["post_pos"], arrays["fwd"]
    if len(set(terms)) != n_terms or len(offsets) != n_terms + 1 or len(arrays["df"]) != n_terms:
        return False
    if any(len(arrays[name]) != slots for name in ("doc_len", "doc_start", "doc_terms")):
        return False
    if len(pos) != len(arrays["post_tf"]) or int(offsets[0]) != 0 or int(offsets[-1]) != len(pos):
        return False
    if np.any(np.diff(offsets) < 0) or (
        len(pos) and not 0 <= int(pos.min()) <= int(pos.max()) < slots
    ):
        return False
    ends = arrays["doc_start"].astype(np.int64) + arrays["doc_terms"]
    if slots and (int(arrays["doc_start"].min()) < 0 or int(ends.max()) > len(fwd)):
        return False
    return not (len(fwd) and not 0 <= int(fwd.min()) <= int(fwd.max()) < n_terms)


class Bm25Index:
    """Okapi BM25 over memories, updated in place.

    Args:
        k1: term-frequency saturation.
        b: document-length normalisation.
        tokenizer: how texts become terms; the default handles any language.

    Not thread-safe for writes: the owner serialises writes against reads.
    """

    def __init__(
        self, *, k1: float = 1.2, b: float = 0.75, tokenizer: Tokenizer | None = None
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError("BM25 needs k1 >= 0 and 0 <= b <= 1")
        self.k1 = k1
        self.b = b
        self.tokenizer = tokenizer or Tokenizer()
        self.applied_seq = 0
        self._tags = TagTable()
        self._term_ids: dict[str, int] = {}
        self._arena_pos = np.zeros(0, dtype=np.int32)
        self._arena_tf = np.zeros(0, dtype=np.float32)
        self._arena_used = 0  # arena slots handed out (live slices and abandoned ones)
        self._arena_abandoned = 0  # slots of slices that moved
        self._post_start = np.zeros(0, dtype=np.int64)
        self._post_cap = np.zeros(0, dtype=np.int64)
        self._post_len = np.zeros(0, dtype=np.int64)
        self._df = np.zeros(0, dtype=np.int64)
        self._doc_len = np.zeros(0, dtype=np.float32)
        self._doc_start = np.zeros(0, dtype=np.int64)
        self._doc_terms = np.zeros(0, dtype=np.int32)
        self._fwd = np.zeros(0, dtype=np.int32)
        self._fwd_size = 0
        self._total_len = 0.0
        self._norms: npt.NDArray[np.float32] | None = None

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._tags)

    def __contains__(self, key: object) -> bool:
        return key in self._tags

    def keys(self) -> npt.NDArray[np.int64]:
        """All keys held."""
        return self._tags.keys()

    def stats(self) -> dict[str, Any]:
        """Counts for operators: documents, slots, tombstones, vocabulary, ``applied_seq``."""
        return {
            "type": _KIND,
            "count": len(self._tags),
            "slots": self._tags.slots,
            "tombstones": self._tags.tombstones,
            "terms": len(self._term_ids),
            "postings": int(self._post_len[: len(self._term_ids)].sum()),
            "applied_seq": self.applied_seq,
        }

    # -- writing -------------------------------------------------------------------------------

    def _term_id(self, term: str) -> int:
        term_id = self._term_ids.get(term)
        if term_id is None:
            term_id = len(self._term_ids)
            self._term_ids[term] = term_id
        return term_id

    def add(
        self, keys: npt.NDArray[np.int64], texts: Sequence[str], tags: Sequence[IndexTags]
    ) -> None:
        """Insert or replace documents (the last entry wins when a key repeats); no rebuild."""
        key_array = np.ascontiguousarray(keys, dtype=np.int64).reshape(-1)
        if not len(key_array) == len(texts) == len(tags):
            raise InvalidInput("keys, texts and tags differ in length")
        if len(key_array) == 0:
            return
        if key_array.min() <= 0:
            raise InvalidInput("index keys must be positive")
        rows = last_occurrences(key_array)
        doc_terms: list[list[int]] = []
        doc_tfs: list[list[int]] = []
        term_ids, term_id = self._term_ids, self._term_id
        for i in rows:
            counts = Counter(self.tokenizer(texts[i]))
            doc_terms.append([term_ids.get(t) or term_id(t) for t in counts])
            doc_tfs.append(list(counts.values()))
        positions, replaced = self._tags.upsert(key_array[rows], [tags[i] for i in rows])
        self._forget(replaced)
        self._index_documents(positions, doc_terms, doc_tfs)
        self._maybe_compact()

    def _index_documents(
        self,
        positions: npt.NDArray[np.intp],
        doc_terms: list[list[int]],
        doc_tfs: list[list[int]],
    ) -> None:
        counts = np.fromiter((len(t) for t in doc_terms), dtype=np.int64, count=len(doc_terms))
        terms = np.fromiter((t for ts in doc_terms for t in ts), dtype=np.int32)
        tfs = np.fromiter((f for fs in doc_tfs for f in fs), dtype=np.float32)
        owners = np.repeat(positions, counts).astype(np.int32)
        lengths = np.fromiter((sum(fs) for fs in doc_tfs), dtype=np.float32, count=len(doc_tfs))
        slots = self._tags.slots
        self._doc_len = _grown(self._doc_len, slots)
        self._doc_start = _grown(self._doc_start, slots)
        self._doc_terms = _grown(self._doc_terms, slots)
        self._doc_len[positions] = lengths
        self._doc_terms[positions] = counts
        self._doc_start[positions] = self._fwd_size + np.cumsum(counts) - counts
        self._fwd = _grown(self._fwd, self._fwd_size + len(terms))
        self._fwd[self._fwd_size : self._fwd_size + len(terms)] = terms
        self._fwd_size += len(terms)
        self._total_len += float(lengths.sum())
        self._norms = None
        n_terms = len(self._term_ids)
        self._post_len = _grown(self._post_len, n_terms)
        self._post_start = _grown(self._post_start, n_terms)
        self._post_cap = _grown(self._post_cap, n_terms)
        self._df = _grown(self._df, n_terms)
        order = np.argsort(terms, kind="stable")
        unique, starts, per_term = np.unique(terms[order], return_index=True, return_counts=True)
        self._df[unique] += per_term
        for term, start, count in zip(
            unique.tolist(), starts.tolist(), per_term.tolist(), strict=True
        ):
            picked = order[start : start + count]
            self._append_postings(term, owners[picked], tfs[picked])

    def _append_postings(
        self, term: int, positions: npt.NDArray[np.int32], tfs: npt.NDArray[np.float32]
    ) -> None:
        used = int(self._post_len[term])
        needed = used + len(positions)
        start = int(self._post_start[term])
        if needed > int(self._post_cap[term]):
            start = self._move_slice(term, used, max(needed, 2 * used))
        self._arena_pos[start + used : start + needed] = positions
        self._arena_tf[start + used : start + needed] = tfs
        self._post_len[term] = needed

    def _move_slice(self, term: int, used: int, capacity: int) -> int:
        """Give ``term`` a slice of ``capacity`` at the arena's end, its postings copied."""
        if self._arena_abandoned > max(self._arena_used // 3, _REPACK_MIN):
            self._repack()
        old = int(self._post_start[term])
        self._arena_abandoned += int(self._post_cap[term])
        start = self._arena_used
        self._arena_pos = _grown(self._arena_pos, start + capacity)
        self._arena_tf = _grown(self._arena_tf, start + capacity)
        self._arena_pos[start : start + used] = self._arena_pos[old : old + used]
        self._arena_tf[start : start + used] = self._arena_tf[old : old + used]
        self._post_start[term] = start
        self._post_cap[term] = capacity
        self._arena_used = start + capacity
        return start

    def _gather(self) -> npt.NDArray[np.int64]:
        """Arena indices of every term's postings, term by term (a tight copy's order)."""
        n_terms = len(self._term_ids)
        lens = self._post_len[:n_terms]
        tight_starts = np.cumsum(lens) - lens
        return np.repeat(self._post_start[:n_terms] - tight_starts, lens) + np.arange(
            int(lens.sum()), dtype=np.int64
        )

    def _repack(self) -> None:
        """Copy every term's postings into tight new arenas (abandoned slices are dropped)."""
        n_terms = len(self._term_ids)
        src = self._gather()
        self._arena_pos = self._arena_pos[src]
        self._arena_tf = self._arena_tf[src]
        lens = self._post_len[:n_terms]
        self._post_start[:n_terms] = np.cumsum(lens) - lens
        self._post_cap[:n_terms] = lens
        self._arena_used = len(src)
        self._arena_abandoned = 0

    def _forget(self, positions: npt.NDArray[np.intp]) -> None:
        """Take tombstoned documents out of ``df`` and the length statistics."""
        if len(positions) == 0:
            return
        slices = [
            self._fwd[start : start + count]
            for start, count in zip(
                self._doc_start[positions].tolist(),
                self._doc_terms[positions].tolist(),
                strict=True,
            )
        ]
        np.subtract.at(self._df, np.concatenate(slices), 1)
        self._total_len -= float(self._doc_len[positions].sum())
        self._norms = None

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> None:
        """Replace the tags of keys already held; unknown keys are ignored."""
        self._tags.retag(np.asarray(keys, dtype=np.int64), tags)

    def remove(self, keys: Iterable[int]) -> int:
        """Remove documents; returns how many were held. No rebuild."""
        positions = self._tags.remove(keys)
        self._forget(positions)
        self._maybe_compact()
        return len(positions)

    def _maybe_compact(self) -> None:
        slots = self._tags.slots
        if slots >= _COMPACT_MIN_SLOTS and self._tags.tombstones > _COMPACT_RATIO * slots:
            self.compact()

    def compact(self) -> None:
        """Drop the postings and forward entries of tombstoned documents."""
        old_slots = self._tags.slots
        kept = self._tags.compact()
        remap = np.full(old_slots, -1, dtype=np.int32)
        remap[kept] = np.arange(len(kept), dtype=np.int32)
        self._repack()
        n_terms = len(self._term_ids)
        moved = remap[self._arena_pos]
        alive = moved >= 0
        owners = np.repeat(np.arange(n_terms), self._post_len[:n_terms])
        lens = np.bincount(owners[alive], minlength=n_terms).astype(np.int64)
        self._arena_pos = moved[alive].astype(np.int32)
        self._arena_tf = self._arena_tf[alive]
        self._post_len[:n_terms] = lens
        self._post_start[:n_terms] = np.cumsum(lens) - lens
        self._post_cap[:n_terms] = lens
        self._arena_used = len(self._arena_pos)
        self._arena_abandoned = 0
        counts = self._doc_terms[kept].astype(np.int64)
        starts = self._doc_start[kept]
        shifts = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        self._fwd = self._fwd[np.arange(int(counts.sum())) + shifts]
        self._fwd_size = len(self._fwd)
        self._doc_start = np.cumsum(counts) - counts
        self._doc_terms = self._doc_terms[kept]
        self._doc_len = self._doc_len[kept]
        self._norms = None
        logger.debug("bm25 index compacted to %d documents", len(kept))

    def prune_terms(self) -> int:
        """Compact, then drop the terms no live document uses; returns how many were dropped.

        After it, the vocabulary (``terms.json`` on the next save), postings and forward index
        hold only what live documents contain: an erased text leaves no term behind.
        """
        self.compact()
        self._tags.prune_strings()
        n_terms = len(self._term_ids)
        keep = np.flatnonzero(self._post_len[:n_terms] > 0)
        if len(keep) == n_terms:
            return 0
        remap = np.full(max(n_terms, 1), -1, dtype=np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        terms = list(self._term_ids)
        self._term_ids = {terms[i]: j for j, i in enumerate(keep.tolist())}
        self._post_start = self._post_start[keep]
        self._post_cap = self._post_cap[keep]
        self._post_len = self._post_len[keep]
        self._df = self._df[keep]
        self._fwd = remap[self._fwd[: self._fwd_size]]
        self._fwd_size = len(self._fwd)
        self._norms = None
        return n_terms - len(keep)

    # -- searching -----------------------------------------------------------------------------

    def search(
        self, query: str, k: int, *, where: IndexFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (key, BM25 score) pairs, best first; only documents sharing a term score.

        Returns ``min(k, matching)`` hits, where ``matching`` counts the documents that share a
        term with the query and pass ``where``.
        """
        n_docs = len(self._tags)
        if k <= 0 or n_docs == 0:
            return []
        term_ids = [
            self._term_ids[t] for t in dict.fromkeys(self.tokenizer(query)) if t in self._term_ids
        ]
        if not term_ids:
            return []
        scores = self._scores(term_ids, n_docs)
        hit = np.flatnonzero(self._tags.mask(where) & (scores > 0))
        order = top_k_order(scores[hit], k)
        keys = self._tags.keys_at(hit[order])
        return list(zip(keys.tolist(), scores[hit[order]].tolist(), strict=True))

    def _length_norms(self, n_docs: int) -> npt.NDArray[np.float32]:
        """``k1 * (1 - b + b * len / avglen)`` per position, cached until the next write."""
        norms = self._norms
        if norms is None:
            avg_len = self._total_len / n_docs if self._total_len > 0 else 1.0
            ratio = self._doc_len[: self._tags.slots] / np.float32(avg_len)
            norms = (self.k1 * (1.0 - self.b + self.b * ratio)).astype(np.float32)
            self._norms = norms  # a benign race: concurrent searches compute the same array
        return norms

    def _scores(self, term_ids: list[int], n_docs: int) -> npt.NDArray[np.float32]:
        norms = self._length_norms(n_docs)
        scores = np.zeros(self._tags.slots, dtype=np.float32)
        for term in term_ids:
            df = int(self._df[term])
            if df <= 0:
                continue
            weight = np.float32(math.log1p((n_docs - df + 0.5) / (df + 0.5)) * (self.k1 + 1.0))
            start = int(self._post_start[term])
            end = start + int(self._post_len[term])
            positions = self._arena_pos[start:end]
            tf = self._arena_tf[start:end]
            scores[positions] += weight * tf / (tf + norms[positions])
        return scores

    # -- persistence ---------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Persist atomically with ``applied_seq`` (see :mod:`memsvc.index.snapshot`)."""

        def write_files(folder: Path) -> None:
            used = self._post_len[: len(self._term_ids)]
            offsets = np.concatenate([[0], np.cumsum(used, dtype=np.int64)])
            src = self._gather()
            pos = [self._arena_pos[src]]
            tfs = [self._arena_tf[src]]
            arrays = {
                "post_offsets": offsets.astype(np.int64),
                "post_pos": np.concatenate([np.empty(0, dtype=np.int32), *pos]),
                "post_tf": np.concatenate([np.empty(0, dtype=np.float32), *tfs]),
                "df": self._df[: len(self._term_ids)],
                "doc_len": self._doc_len[: self._tags.slots],
                "doc_start": self._doc_start[: self._tags.slots],
                "doc_terms": self._doc_terms[: self._tags.slots],
                "fwd": self._fwd[: self._fwd_size],
            }
            with (folder / _ARRAYS_FILE).open("wb") as fh:
                np.savez(fh, allow_pickle=False, **arrays)
            terms = json.dumps(list(self._term_ids), ensure_ascii=False)
            (folder / _TERMS_FILE).write_text(terms, encoding="utf-8")
            self._tags.save(folder)

        meta = {
            "applied_seq": self.applied_seq,
            "tags_digest": self._tags.digest(),
            "count": len(self),
            "k1": self.k1,
            "b": self.b,
            "tokenizer": self.tokenizer.settings(),
        }
        write_snapshot(directory, kind=_KIND, meta=meta, write_files=write_files)

    @classmethod
    def load(cls, directory: Path) -> Bm25Index:
        """Read the index saved in ``directory``; an empty one when nothing was saved there.

        Raises:
            IndexOutOfSync: the snapshot is corrupt or inconsistent.
        """
        snapshot = read_snapshot(directory, kind=_KIND)
        if snapshot is None:
            return cls()
        try:
            meta = snapshot.meta
            index = cls(
                k1=float(meta["k1"]),
                b=float(meta["b"]),
                tokenizer=Tokenizer.from_settings(meta["tokenizer"]),
            )
            terms = json.loads((snapshot.path / _TERMS_FILE).read_text(encoding="utf-8"))
            with np.load(snapshot.path / _ARRAYS_FILE, allow_pickle=False) as data:
                arrays = {name: data[name] for name in _ARRAYS}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexOutOfSync("stored BM25 index is unreadable") from exc
        index._tags = TagTable.load(snapshot.path, digest=snapshot.str_field("tags_digest"))
        index._restore(snapshot, terms, arrays)
        return index

    def _restore(
        self, snapshot: Snapshot, terms: list[str], arrays: dict[str, npt.NDArray[Any]]
    ) -> None:
        if not _is_consistent(arrays, terms=terms, slots=self._tags.slots):
            raise IndexOutOfSync("stored BM25 index disagrees with itself")
        if len(self._tags) != snapshot.int_field("count"):
            raise IndexOutOfSync("stored BM25 index count disagrees with its tags")
        offsets = arrays["post_offsets"]
        self._term_ids = {t: i for i, t in enumerate(terms)}
        self._arena_pos = arrays["post_pos"].astype(np.int32)
        self._arena_tf = arrays["post_tf"].astype(np.float32)
        self._arena_used = len(self._arena_pos)
        self._arena_abandoned = 0
        self._post_len = np.diff(offsets).astype(np.int64)
        self._post_start = offsets[:-1].astype(np.int64)
        self._post_cap = self._post_len.copy()
        self._df = arrays["df"].astype(np.int64)
        self._doc_len = arrays["doc_len"].astype(np.float32)
        self._doc_start = arrays["doc_start"].astype(np.int64)
        self._doc_terms = arrays["doc_terms"].astype(np.int32)
        self._fwd = arrays["fwd"].astype(np.int32)
        self._fwd_size = len(self._fwd)
        self._total_len = float(self._doc_len[self._tags.live_positions()].sum())
        self._norms = None
        self.applied_seq = snapshot.int_field("applied_seq")
