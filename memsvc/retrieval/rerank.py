"""Optional reranking of the final candidates.

A :class:`Reranker` scores ``(query, text)`` pairs jointly, which is more accurate and much
slower than the bi-encoder and BM25 scores that produced the candidates, so it only sees the few
best (``RetrievalSettings.rerank``). The concrete cross-encoder lives in
:mod:`memsvc.embed.cross_encoder` (it needs sentence-transformers, which this package may not
import); :class:`NoopReranker` keeps the incoming order and is what ``rerank="none"`` uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["NoopReranker", "Reranker", "rerank"]


@runtime_checkable
class Reranker(Protocol):
    """Scores how well each text answers the query; higher is better."""

    @property
    def name(self) -> str:
        """Which reranker and model (for logs and score parts)."""
        ...

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """One score per text, in the order given.

        Raises:
            EmbeddingFailed: the model could not be loaded or failed.
        """
        ...


class NoopReranker:
    """Keeps the incoming order: every text scores 0 and the sort is stable."""

    @property
    def name(self) -> str:
        """``"none"``."""
        return "none"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:  # noqa: ARG002
        """Zeros, one per text."""
        return [0.0] * len(texts)


def rerank(
    reranker: Reranker, query: str, items: Sequence[tuple[int, str]]
) -> list[tuple[int, float]]:
    """Reorder ``(key, text)`` items by the reranker's scores.

    Returns:
        ``(key, rerank score)`` best first; equal scores keep the incoming order.

    Raises:
        ValueError: the reranker returned a different number of scores than texts.
    """
    scores = reranker.score(query, [text for _, text in items])
    if len(scores) != len(items):
        raise ValueError("the reranker must return one score per text")
    order = sorted(range(len(items)), key=lambda i: -scores[i])
    return [(int(items[i][0]), float(scores[i])) for i in order]
