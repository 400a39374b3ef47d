"""Extractive selection by sentence centrality, and pseudo-relevance-feedback terms.

Centrality is the cosine of each sentence to the (weighted) centroid of all of them, a cheap
relative of LexRank; redundancy is removed greedily (MMR-style) and the picks are returned in
their original order. Feedback terms are the words that weigh most in the top retrieved texts
and least across all of them (tf-idf over the retrieved set), minus those already asked about.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from memsvc.embed.base import Vectors
from memsvc.llm.sentences import content_words, stem

__all__ = ["central_indices", "feedback_terms", "fit_to_length"]


def central_indices(
    vectors: Vectors,
    lengths: Sequence[int],
    *,
    max_chars: int,
    weights: Sequence[float] | None = None,
    bonus: Sequence[float] | None = None,
    redundancy: float = 0.9,
) -> list[int]:
    """Indices of the most central rows that fit in ``max_chars``, in their original order.

    Args:
        vectors: unit vectors, one row per sentence.
        lengths: the character length of each sentence.
        max_chars: the budget; separators count one character each.
        weights: how much each row pulls the centroid (default: equally).
        bonus: added to a row's centrality (e.g. for sentences that carry a named slot).
        redundancy: a row this similar to an already picked one is skipped.
    """
    n = len(lengths)
    if n == 0:
        return []
    w = np.asarray(weights if weights is not None else [1.0] * n, dtype=np.float32)
    centroid = (vectors * w[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(centroid))
    scores = vectors @ (centroid / norm) if norm > 0 else np.zeros(n, dtype=np.float32)
    if bonus is not None:
        scores = scores + np.asarray(bonus, dtype=np.float32)
    order = sorted(range(n), key=lambda i: (-float(scores[i]), i))
    picked: list[int] = []
    used = 0
    for i in order:
        if picked and float(np.max(vectors[picked] @ vectors[i])) >= redundancy:
            continue
        cost = lengths[i] + (1 if picked else 0)
        if picked and used + cost > max_chars:
            continue
        picked.append(i)
        used += cost
    return sorted(picked)


def fit_to_length(text: str, max_chars: int) -> str:
    """``text`` cut at a word boundary so that it is at most ``max_chars`` long."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:- ")
    return cut + "…"


def feedback_terms(
    question: str, retrieved: Sequence[str], *, n_terms: int = 6, n_docs: int = 5
) -> list[str]:
    """The most distinctive words of the top ``n_docs`` texts that the question lacks.

    A word scores its length-normalised frequency in each top text, weighted by 1/rank, times
    its inverse document frequency over all of ``retrieved``. Ties break alphabetically, so the
    result is deterministic.
    """
    asked = {stem(w) for w in content_words(question)}
    docs = [content_words(text) for text in retrieved]
    if not docs:
        return []
    df = Counter(s for doc in docs for s in {stem(w) for w in doc})
    surface: dict[str, str] = {}
    scores: dict[str, float] = {}
    for rank, doc in enumerate(docs[:n_docs]):
        if not doc:
            continue
        counts = Counter(stem(w) for w in doc)
        for word in doc:
            surface.setdefault(stem(word), word)
        for term, tf in counts.items():
            if term in asked or len(term) < 3 or term.isdigit():
                continue
            idf = math.log(1.0 + len(docs) / df[term])
            scores[term] = scores.get(term, 0.0) + (tf / len(doc)) * idf / (rank + 1)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n_terms]
    return [surface[term] for term, score in best if score > 0]
