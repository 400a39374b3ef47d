"""Vectors stored once: whoever writes a memory stores the vectors of its text in the same
transaction, so no other process (replica, restart, rebuild) ever asks the model for them again.

The model call itself happens before the write transaction opens (``embedder.embed``); inside it,
:func:`persist_vectors` stores what this process computed and no committed write stored yet
(:meth:`~memsvc.embed.cache.CachedEmbedder.unsaved`), and marks them saved once the transaction
commits. A rolled-back transaction leaves them unsaved, to be stored by the next write that
uses them (or at the latest by the index catch-up).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.embed.cache import CachedEmbedder
from memsvc.store.vectors import save_vectors

__all__ = ["persist_vectors"]


def persist_vectors(session: Session, embedder: CachedEmbedder, texts: Sequence[str]) -> int:
    """Store, in ``session``'s transaction, the vectors of ``texts`` not stored yet.

    Texts that were never embedded are left alone (the index catch-up embeds and stores them).

    Returns:
        How many vectors were written.
    """
    items = embedder.unsaved([x for x in texts if x.strip()])
    if not items:
        return 0
    save_vectors(session, embedder.model_id, items)
    hashes = list(items)

    def _saved(_: Session) -> None:
        embedder.mark_saved(hashes)

    sa.event.listen(session, "after_commit", _saved, once=True)
    return len(items)
