"""Embedding cache: the same text is never embedded twice by the same model.

Two levels: an in-process LRU, then an optional persistent store (the ``embedding_cache`` SQL
table, which also makes index rebuilds cheap). Keys are ``(model_id, sha256(text))``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from memsvc.embed.base import Embedder, Vectors

__all__ = ["CachedEmbedder", "PersistentVectorCache", "text_hash"]


def text_hash(text: str) -> str:
    """The cache key of a text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class PersistentVectorCache(Protocol):
    """Where cached vectors survive restarts (implemented over SQL by the store)."""

    def load_vectors(self, model_id: str, hashes: Sequence[str]) -> Mapping[str, Vectors]:
        """The stored vectors among ``hashes`` (1-d float32 arrays)."""
        ...

    def save_vectors(self, model_id: str, items: Mapping[str, Vectors]) -> None:
        """Store new vectors (existing keys are left as they are)."""
        ...


class CachedEmbedder:
    """Wraps an :class:`Embedder` with an LRU and an optional persistent cache.

    ``embed`` only calls the wrapped model for texts seen in neither cache, in one batch.
    Persisting is left to the caller (:meth:`unsaved` / :meth:`mark_saved`) so that vectors are
    written in the same transaction as the memories that use them: a vector computed here stays
    "unsaved" until a committed transaction stored it, however often it is served from the LRU.
    """

    def __init__(
        self, inner: Embedder, *, capacity: int = 50_000, store: PersistentVectorCache | None = None
    ) -> None:
        self._inner = inner
        self._capacity = capacity
        self._store = store
        self._lru: OrderedDict[str, Vectors] = OrderedDict()
        self._unsaved: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def inner(self) -> Embedder:
        """The wrapped embedder."""
        return self._inner

    @property
    def model_id(self) -> str:
        """The wrapped model's id."""
        return self._inner.model_id

    @property
    def dim(self) -> int:
        """Vector size."""
        return self._inner.dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``; cached vectors are reused, new ones computed in one batch."""
        vectors, _ = self.embed_with_new(texts)
        return vectors

    def embed_query(self, text: str) -> Vectors:
        """One query's vector, shape ``(dim,)``: from the LRU or the model, never the SQL cache.

        Queries seldom repeat after a restart, so the persistent lookup (a database round trip
        on every search) would almost always miss; query vectors are not persisted either.
        """
        key = text_hash(text)
        found = self._from_lru([key]).get(key)
        if found is not None:
            self.hits += 1
            return found
        vector: Vectors = self._inner.embed([text])[0]
        self.misses += 1
        self._to_lru({key: vector})
        return vector

    def embed_with_new(self, texts: Sequence[str]) -> tuple[Vectors, dict[str, Vectors]]:
        """Like :meth:`embed`, also returning the vectors that no cache held (hash -> vector)."""
        hashes = [text_hash(t) for t in texts]
        found = self._from_lru(hashes)
        missing = [h for h in dict.fromkeys(hashes) if h not in found]
        if missing and self._store is not None:
            stored = self._store.load_vectors(self.model_id, missing)
            found.update(stored)
            self._to_lru(stored)
            missing = [h for h in missing if h not in stored]
        new: dict[str, Vectors] = {}
        if missing:
            by_hash = dict(zip(hashes, texts, strict=True))
            computed = self._inner.embed([by_hash[h] for h in missing])
            new = {h: computed[i] for i, h in enumerate(missing)}
            found.update(new)
            self._to_lru(new)
            self._remember_unsaved(new)
        self.hits += len(hashes) - len(missing)
        self.misses += len(missing)
        if not hashes:
            return np.zeros((0, self.dim), dtype=np.float32), new
        return np.stack([found[h] for h in hashes]).astype(np.float32, copy=False), new

    def unsaved(self, texts: Sequence[str]) -> dict[str, Vectors]:
        """Vectors of ``texts`` that this process computed and no committed write stored yet.

        Store them (``memsvc.store.vectors.save_vectors``) in the transaction that writes the
        memories, then call :meth:`mark_saved` once it committed.
        """
        hashes = [text_hash(t) for t in texts]
        with self._lock:
            return {h: self._unsaved[h] for h in hashes if h in self._unsaved}

    def mark_saved(self, hashes: Sequence[str]) -> None:
        """Forget ``hashes`` as unsaved: a committed transaction stored their vectors."""
        with self._lock:
            for h in hashes:
                self._unsaved.pop(h, None)

    def _remember_unsaved(self, items: Mapping[str, Vectors]) -> None:
        # Bounded like the LRU: a vector that never reaches a memory (a query-side helper's
        # sentence) must not pin memory forever; one that does is stored at index catch-up.
        with self._lock:
            for h, vec in items.items():
                self._unsaved[h] = vec
            while len(self._unsaved) > max(self._capacity, 1_000):
                self._unsaved.popitem(last=False)

    def forget(self, hashes: Sequence[str]) -> int:
        """Drop vectors from the in-process cache (erasure); returns how many were held."""
        with self._lock:
            for h in hashes:
                self._unsaved.pop(h, None)
            return sum(self._lru.pop(h, None) is not None for h in hashes)

    def _from_lru(self, hashes: Sequence[str]) -> dict[str, Vectors]:
        out: dict[str, Vectors] = {}
        with self._lock:
            for h in hashes:
                vec = self._lru.get(h)
                if vec is not None:
                    self._lru.move_to_end(h)
                    out[h] = vec
        return out

    def _to_lru(self, items: Mapping[str, Vectors]) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            for h, vec in items.items():
                self._lru[h] = vec
                self._lru.move_to_end(h)
            while len(self._lru) > self._capacity:
                self._lru.popitem(last=False)
