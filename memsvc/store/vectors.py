"""The ``embedding_cache`` table as a persistent vector cache (see memsvc.embed.cache)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.store import tables as t
from memsvc.types import utcnow

__all__ = ["SqlVectorCache", "load_vectors", "save_vectors"]

Vectors = npt.NDArray[np.float32]


def load_vectors(session: Session, model_id: str, hashes: Sequence[str]) -> dict[str, Vectors]:
    """Stored vectors among ``hashes``."""
    out: dict[str, Vectors] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        stmt = sa.select(t.EmbeddingCache.text_hash, t.EmbeddingCache.vector).where(
            t.EmbeddingCache.model == model_id, t.EmbeddingCache.text_hash.in_(chunk)
        )
        for text_hash, blob in session.execute(stmt):
            out[text_hash] = np.frombuffer(blob, dtype=np.float32).copy()
    return out


def save_vectors(session: Session, model_id: str, items: Mapping[str, Vectors]) -> None:
    """Insert vectors not stored yet (concurrent writers of the same key are harmless)."""
    if not items:
        return
    dialect = session.get_bind().dialect.name
    existing = (
        set(load_vectors(session, model_id, list(items)))
        if dialect not in ("postgresql", "sqlite")
        else set()
    )
    now = utcnow()
    rows = [
        {
            "model": model_id,
            "text_hash": h,
            "dim": int(v.shape[0]),
            "vector": np.asarray(v, dtype=np.float32).tobytes(),
            "created_at": now,
        }
        for h, v in items.items()
        if h not in existing
    ]
    if rows:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            session.execute(pg_insert(t.EmbeddingCache).on_conflict_do_nothing(), rows)
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            session.execute(sqlite_insert(t.EmbeddingCache).on_conflict_do_nothing(), rows)
        else:
            session.execute(sa.insert(t.EmbeddingCache), rows)


class SqlVectorCache:
    """PersistentVectorCache over SQL; each call is its own short transaction."""

    def __init__(self, begin: Callable[[], AbstractContextManager[Session]]) -> None:
        self._begin = begin

    def load_vectors(self, model_id: str, hashes: Sequence[str]) -> Mapping[str, Vectors]:
        """Stored vectors among ``hashes``."""
        with self._begin() as session:
            return load_vectors(session, model_id, hashes)

    def save_vectors(self, model_id: str, items: Mapping[str, Vectors]) -> None:
        """Store new vectors."""
        with self._begin() as session:
            save_vectors(session, model_id, items)
