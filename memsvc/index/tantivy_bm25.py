"""BM25 keyword search on tantivy (a maintained Rust engine, Lucene's design) instead of ours.

Issue 15 asks to keep the hand-written :class:`~memsvc.index.bm25.Bm25Index` only if it beats
a maintained engine side by side; this is that engine behind the same
:class:`~memsvc.index.base.SparseIndex` contract, so the two can be measured on one benchmark
and chosen with ``index.sparse_backend``.

* **Same terms.** Texts are tokenised by our :class:`~memsvc.index.tokenize.Tokenizer` and
  handed to tantivy joined by spaces, which a whitespace analyzer splits again: tantivy sees
  exactly the terms our BM25 sees (NFKC, casefold, CJK bigrams, stopwords, English folding).
  Scores use the same formula (k1 1.2, b 0.75, Lucene's idf); tantivy stores document lengths
  in one byte (lossy) and counts deleted documents in its statistics until their segment
  merges, so scores differ slightly from ours, never the set of documents that can match.
* **Filters.** A :class:`~memsvc.index.tags.TagTable` holds keys and filter tags as ours does.
  A scope filter also goes to tantivy (user, agent and session are raw-token fields, with a
  zero score); when few documents pass the filter their keys go to tantivy as a term set;
  otherwise hits are widened (4x per round) until ``k`` pass the mask or none are left. So a
  filtered search returns ``k`` hits whenever ``k`` matching documents pass.
* **Persistence without shared mutable state.** Each instance writes to a private working
  folder (a temporary directory it deletes when collected). :meth:`save` waits for merges,
  then hard-links (or copies) tantivy's immutable segment files and its ``meta.json`` into a
  new snapshot (:mod:`memsvc.index.snapshot`); :meth:`load` copies a snapshot into a fresh
  working folder. No two processes ever open the same tantivy folder, and a snapshot is never
  written to after it is made current.
* **Erasure.** tantivy drops a deleted document's postings only when its segment merges, and
  the Python binding cannot force a merge; :attr:`holds_removed_terms` says so, and
  :meth:`memsvc.index.sync.IndexSync.purge` then rebuilds the index from SQL.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memsvc.errors import IndexOutOfSync, InvalidInput
from memsvc.index.base import IndexFilter, IndexTags
from memsvc.index.snapshot import read_snapshot, write_snapshot
from memsvc.index.tags import TagTable, last_occurrences
from memsvc.index.tokenize import Tokenizer

__all__ = ["TantivyBm25Index"]

logger = logging.getLogger(__name__)

_KIND = "tantivy"
_FILE_PREFIX = "tv-"  # tantivy's own meta.json must not clash with the snapshot's
_ANALYZER = "memsvc_terms"
_TEXT, _KEY = "text", "key"
_SCOPE_FIELDS = ("user", "agent", "session")
_KEY_SET_MAX = 4_096
if importlib.util.find_spec("tantivy") is None:  # the registry turns this into a ConfigError
    raise ImportError("index.sparse_backend=tantivy needs tantivy: pip install 'memsvc[tantivy]'")

_WIDEN = 4
_COMPACT_RATIO = 0.25
_COMPACT_MIN_SLOTS = 1_024
_WRITER_HEAP = 32_000_000


def _schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field(_TEXT, stored=False, tokenizer_name=_ANALYZER, index_option="freq")
    builder.add_unsigned_field(_KEY, stored=False, indexed=True, fast=True)
    for name in _SCOPE_FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name="raw", index_option="basic")
    return builder.build()


def _open(path: Path) -> Any:
    import tantivy

    index = tantivy.Index(_schema(), path=str(path), reuse=True)
    index.register_tokenizer(
        _ANALYZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )
    return index


def _is_tantivy_file(path: Path) -> bool:
    """tantivy's index files, without the writer's lock files."""
    return path.is_file() and not path.name.endswith(".lock")


class TantivyBm25Index:
    """Okapi BM25 over memories, on tantivy; the :class:`~memsvc.index.base.SparseIndex`
    contract of :class:`~memsvc.index.bm25.Bm25Index`.

    Args:
        tokenizer: how texts become terms (the same as the hand-written index's by default).
        work_root: where the private working folder goes (the system's temporary folder when
            ``None``).

    Not thread-safe for writes: the owner serialises writes against reads.
    """

    #: deleted documents' terms stay in tantivy's segments until a merge (see module doc)
    holds_removed_terms: bool

    def __init__(self, *, tokenizer: Tokenizer | None = None, work_root: Path | None = None):
        self.tokenizer = tokenizer or Tokenizer()
        self.applied_seq = 0
        self.holds_removed_terms = False
        self._tags = TagTable()
        self._work = Path(tempfile.mkdtemp(prefix="memsvc-tantivy-", dir=work_root))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._work, ignore_errors=True)
        self._index = _open(self._work)
        self._schema = self._index.schema
        self._writer: Any = None
        self._searcher: Any = None
        #: a retag moved a memory to another scope: tantivy's scope fields may be stale
        self._is_scope_stale = False

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._tags)

    def __contains__(self, key: object) -> bool:
        return key in self._tags

    def keys(self) -> npt.NDArray[np.int64]:
        """All keys held."""
        return self._tags.keys()

    def stats(self) -> dict[str, Any]:
        """Counts for operators: documents, tombstones, tantivy segments, ``applied_seq``."""
        return {
            "type": _KIND,
            "count": len(self._tags),
            "slots": self._tags.slots,
            "tombstones": self._tags.tombstones,
            "segments": int(self._current_searcher().num_segments),
            "applied_seq": self.applied_seq,
        }

    def _current_searcher(self) -> Any:
        searcher = self._searcher
        if searcher is None:
            self._index.reload()
            searcher = self._searcher = self._index.searcher()
        return searcher

    # -- writing -------------------------------------------------------------------------------

    def _get_writer(self) -> Any:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
        return self._writer

    def _commit(self) -> None:
        try:
            self._get_writer().commit()
        except (ValueError, OSError) as exc:
            raise IndexOutOfSync("tantivy commit failed") from exc
        self._searcher = None

    def _document(self, key: int, text: str, tag: IndexTags) -> Any:
        import tantivy

        doc = tantivy.Document()
        doc.add_unsigned(_KEY, key)
        terms = self.tokenizer(text)
        if terms:
            doc.add_text(_TEXT, " ".join(terms))
        for name, value in zip(
            _SCOPE_FIELDS, (tag.user_id, tag.agent_id, tag.session_id), strict=True
        ):
            if value is not None:
                doc.add_text(name, value)
        return doc

    def add(
        self, keys: npt.NDArray[np.int64], texts: Sequence[str], tags: Sequence[IndexTags]
    ) -> None:
        """Insert or replace documents (the last entry wins when a key repeats)."""
        key_array = np.ascontiguousarray(keys, dtype=np.int64).reshape(-1)
        if not len(key_array) == len(texts) == len(tags):
            raise InvalidInput("keys, texts and tags differ in length")
        if len(key_array) == 0:
            return
        if key_array.min() <= 0:
            raise InvalidInput("index keys must be positive")
        rows = last_occurrences(key_array)
        writer = self._get_writer()
        distinct = key_array[rows]
        held = distinct[self._tags.holds(distinct)].tolist()
        self._delete(held)
        for i in rows.tolist():
            writer.add_document(self._document(int(key_array[i]), texts[i], tags[i]))
        self._commit()
        self._tags.upsert(key_array[rows], [tags[i] for i in rows])
        self._maybe_compact()

    def _delete(self, keys: list[int]) -> None:
        """Queue the deletion of ``keys`` (applied at the next commit, before later adds)."""
        import tantivy

        if not keys:
            return
        # One query for the batch; tantivy-py's delete_documents_by_term does not match
        # unsigned fields (0.27: it deletes nothing).
        self._get_writer().delete_documents_by_query(
            tantivy.Query.term_set_query(self._schema, _KEY, keys)
        )
        self.holds_removed_terms = True

    def retag(self, keys: npt.NDArray[np.int64], tags: Sequence[IndexTags]) -> None:
        """Replace the tags of keys already held; unknown keys are ignored."""
        key_array = np.asarray(keys, dtype=np.int64)
        for key, tag in zip(key_array.tolist(), tags, strict=True):
            if key not in self._tags:
                continue
            old = self._tags.tags_at(int(self._tags.positions_of([key])[0]))
            if (old.user_id, old.agent_id, old.session_id) != (
                tag.user_id,
                tag.agent_id,
                tag.session_id,
            ):
                self._is_scope_stale = True
        self._tags.retag(key_array, tags)

    def remove(self, keys: Iterable[int]) -> int:
        """Remove documents; returns how many were held."""
        positions = self._tags.remove(keys)
        if len(positions) == 0:
            return 0
        self._delete(self._tags.keys_at(positions).tolist())
        self._commit()
        self._maybe_compact()
        return len(positions)

    def _maybe_compact(self) -> None:
        slots = self._tags.slots
        if slots >= _COMPACT_MIN_SLOTS and self._tags.tombstones > _COMPACT_RATIO * slots:
            self._tags.compact()  # positions are ours alone: tantivy is addressed by key

    def prune_strings(self) -> int:
        """Forget scope strings no live memory uses; returns how many were dropped."""
        self._tags.compact()
        return self._tags.prune_strings()

    # -- searching -----------------------------------------------------------------------------

    def search(
        self, query: str, k: int, *, where: IndexFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (key, BM25 score) pairs, best first; only documents sharing a term score.

        Returns ``min(k, matching)`` hits, where ``matching`` counts the documents that share a
        term with the query and pass ``where``.
        """
        import tantivy

        if k <= 0 or len(self._tags) == 0:
            return []
        terms = list(dict.fromkeys(self.tokenizer(query)))
        if not terms:
            return []
        should = [
            (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, _TEXT, t, "freq"))
            for t in terms
        ]
        text_query = tantivy.Query.boolean_query(should)
        mask = self._tags.mask(where)
        passing = int(np.count_nonzero(mask))
        if passing == 0:
            return []
        if passing == len(self._tags):
            return self._top(text_query, k)
        if passing <= _KEY_SET_MAX:
            allowed = self._tags.keys_at(np.flatnonzero(mask)).tolist()
            keyed = tantivy.Query.term_set_query(self._schema, _KEY, allowed)
            return self._filtered(self._must(text_query, [keyed]), k, mask)
        return self._filtered(self._must(text_query, self._scope_queries(where)), k, mask)

    def _must(self, text_query: Any, filters: list[Any]) -> Any:
        import tantivy

        if not filters:
            return text_query
        clauses = [(tantivy.Occur.Must, text_query)]
        clauses += [(tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in filters]
        return tantivy.Query.boolean_query(clauses)

    def _scope_queries(self, where: IndexFilter | None) -> list[Any]:
        import tantivy

        if where is None or where.scope is None or self._is_scope_stale:
            return []
        scope = where.scope
        values = (scope.user_id, scope.agent_id, scope.session_id)
        return [
            tantivy.Query.term_query(self._schema, name, value, "basic")
            for name, value in zip(_SCOPE_FIELDS, values, strict=True)
            if value is not None
        ]

    def _hits(self, query: Any, limit: int) -> tuple[list[int], list[float]]:
        searcher = self._current_searcher()
        hits = searcher.search(query, limit, count=False).hits
        if not hits:
            return [], []
        keys = searcher.fast_field_values(_KEY, [address for _, address in hits])
        return [int(key) for key in keys], [float(score) for score, _ in hits]

    def _top(self, query: Any, k: int) -> list[tuple[int, float]]:
        keys, scores = self._hits(query, k)
        return list(zip(keys, scores, strict=True))

    def _filtered(self, query: Any, k: int, mask: npt.NDArray[np.bool_]) -> list[tuple[int, float]]:
        """Widen until ``k`` hits pass ``mask`` or tantivy has no more."""
        limit = 2 * k
        while True:
            keys, scores = self._hits(query, limit)
            positions = self._tags.positions_of(keys)
            if len(positions) != len(keys):
                raise IndexOutOfSync("tantivy holds a key the tag table does not")
            picked = np.flatnonzero(mask[positions])
            if len(picked) >= k or len(keys) < limit:
                return [(keys[i], scores[i]) for i in picked[:k].tolist()]
            limit *= _WIDEN

    # -- persistence ---------------------------------------------------------------------------

    def _settle(self) -> None:
        """Finish merges so that the working folder holds one consistent set of files."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.commit()
            writer.garbage_collect_files()
            writer.wait_merging_threads()
        self._searcher = None

    def save(self, directory: Path) -> None:
        """Persist atomically with ``applied_seq`` (see :mod:`memsvc.index.snapshot`)."""
        self._settle()

        def write_files(folder: Path) -> None:
            for path in sorted(self._work.iterdir()):
                if not _is_tantivy_file(path):
                    continue
                target = folder / (_FILE_PREFIX + path.name)
                try:
                    os.link(path, target)  # segment files are immutable: a link is a copy
                except OSError:
                    shutil.copyfile(path, target)
            self._tags.save(folder)

        meta = {
            "applied_seq": self.applied_seq,
            "tags_digest": self._tags.digest(),
            "count": len(self),
            "tokenizer": self.tokenizer.settings(),
            "holds_removed_terms": self.holds_removed_terms,
            "scope_stale": self._is_scope_stale,
        }
        write_snapshot(directory, kind=_KIND, meta=meta, write_files=write_files)

    @classmethod
    def load(cls, directory: Path, *, work_root: Path | None = None) -> TantivyBm25Index:
        """Read the index saved in ``directory``; an empty one when nothing was saved there.

        Raises:
            IndexOutOfSync: the snapshot is corrupt or inconsistent.
        """
        snapshot = read_snapshot(directory, kind=_KIND)
        if snapshot is None:
            return cls(work_root=work_root)
        try:
            tokenizer = Tokenizer.from_settings(snapshot.meta["tokenizer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexOutOfSync("stored tantivy index metadata is unreadable") from exc
        index = cls(tokenizer=tokenizer, work_root=work_root)
        index._tags = TagTable.load(snapshot.path, digest=snapshot.str_field("tags_digest"))
        try:
            for path in snapshot.path.iterdir():
                if path.name.startswith(_FILE_PREFIX):
                    shutil.copyfile(path, index._work / path.name[len(_FILE_PREFIX) :])
            index._index = _open(index._work)
            index._schema = index._index.schema
            held = int(index._current_searcher().num_docs)
        except (OSError, ValueError) as exc:
            raise IndexOutOfSync("stored tantivy index is unreadable") from exc
        if not held == len(index._tags) == snapshot.int_field("count"):
            raise IndexOutOfSync("stored tantivy index count disagrees with its tags")
        index.applied_seq = snapshot.int_field("applied_seq")
        index.holds_removed_terms = bool(snapshot.meta.get("holds_removed_terms", True))
        index._is_scope_stale = bool(snapshot.meta.get("scope_stale", True))
        return index
