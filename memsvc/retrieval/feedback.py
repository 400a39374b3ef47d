"""Pseudo-relevance feedback: refine a query from what the last round found, without an LLM.

The offline counterpart of ``LLMTasks.refine_query`` in iterative retrieval (ALGORITHMS.md §4.2):
assume the top results are relevant and add what distinguishes them.

- :func:`prf_terms` (sparse side): the top results' most distinctive terms, by tf-idf with
  document frequencies over all retrieved texts (a term every candidate shares, such as a
  speaker's name, says nothing), leaving out stopwords and the question's own terms.
- :func:`prf_vector` (dense side): Rocchio, ``alpha·q + beta·mean(top vectors)``, renormalised.
- :class:`PseudoRelevanceFeedback` is a ready ``refine(question, texts) -> str`` callable.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["PseudoRelevanceFeedback", "prf_terms", "prf_vector", "terms_of"]

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each even ever few for from further get gets getting got had
    hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's
    like lot lots me more most much must mustn't my myself no nor not now of off on once only or
    other ought our ours ourselves out over own really same she she'd she'll she's should
    shouldn't so some such than that that's the their theirs them themselves then there there's
    these they they'd they'll they're they've thing things this those though through to too
    under until up us very was wasn't we we'd we'll we're we've were weren't what what's when
    when's where where's which while who who's whom why why's will with won't would wouldn't yes
    yet you you'd you'll you're you've your yours yourself yourselves
    hey hi hello oh wow yeah yep okay ok thanks thank glad great awesome cool nice amazing sure
    totally definitely gonna wanna kinda sounds sound feel feels felt know think thought see
    going really pretty something anything everything always never one two lately recently
    went goes gone take took look looking give gave need needs want wanted make made come came
    say said tell told let keep kept bit way super
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def terms_of(text: str) -> list[str]:
    """Lower-case content terms of ``text``: no stopwords, no tokens shorter than 3 characters."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        token = token.removesuffix("'s")
        # Other contractions (it'll, we've) are function words.
        if len(token) >= 3 and "'" not in token and token not in _STOPWORDS:
            out.append(token)
    return out


def _stem(term: str) -> str:
    """A crude stem, only to recognise a question's own terms in other forms.

    Suffixes are stripped (paint/painted), then long words are cut to six letters
    (adoption/adopting, counselor/counseling).
    """
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 3:
            term = term[: -len(suffix)]
            break
    return term[:6]


def prf_terms(
    question: str,
    texts: Sequence[str],
    *,
    k: int = 8,
    docs: int = 5,
    background: Sequence[str] | None = None,
    max_df: float = 0.25,
) -> list[str]:
    """The ``k`` most distinctive terms of the top results, absent from the question.

    Args:
        question: the query; its terms (and their crude stems) are never returned.
        texts: retrieved texts, best first.
        k: how many terms.
        docs: how many of the first ``texts`` count as relevant feedback.
        background: texts for document frequencies (default: all of ``texts``).
        max_df: terms in more than this share of the background are left out (a speaker's name
            heads half of a conversation's turns); only applied to backgrounds of 10 texts or
            more, where the share means something.

    Returns:
        Terms by decreasing weight ``Σ_{d in top} (1 + ln tf(t, d)) · ln((N + 1) / (df(t) + 0.5))``,
        ties broken alphabetically; fewer than ``k`` when the top results have fewer terms.
    """
    if k <= 0 or not texts:
        return []
    pool = list(background) if background is not None else list(texts)
    df: Counter[str] = Counter()
    for text in pool:
        df.update(set(terms_of(text)))
    common = len(pool) >= 10
    asked = {_stem(t) for t in terms_of(question)}
    weights: dict[str, float] = {}
    for text in texts[: max(docs, 1)]:
        for term, tf in Counter(terms_of(text)).items():
            if _stem(term) in asked or (common and df[term] > max_df * len(pool)):
                continue
            idf = math.log((len(pool) + 1) / (df[term] + 0.5))
            weights[term] = weights.get(term, 0.0) + (1.0 + math.log(tf)) * max(idf, 0.0)
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [term for term, weight in ranked[:k] if weight > 0]


def prf_vector(
    query_vec: npt.NDArray[np.float32],
    top_vecs: npt.NDArray[np.float32],
    *,
    alpha: float = 1.0,
    beta: float = 0.5,
) -> npt.NDArray[np.float32]:
    """Rocchio feedback: ``normalise(alpha·q + beta·mean(top_vecs))``.

    Args:
        query_vec: the query, shape ``(dim,)``.
        top_vecs: the top results' vectors, shape ``(n, dim)``; ``n == 0`` returns the query.
        alpha: weight of the query.
        beta: weight of the centroid of the results.

    Returns:
        A unit float32 vector of shape ``(dim,)``.
    """
    query = np.asarray(query_vec, dtype=np.float32).reshape(-1)
    top = np.asarray(top_vecs, dtype=np.float32).reshape(-1, query.shape[0])
    mixed = alpha * query
    if top.shape[0]:
        mixed = mixed + beta * top.mean(axis=0)
    norm = float(np.linalg.norm(mixed))
    if norm == 0.0:
        raise ValueError("the feedback vector is zero; check alpha, beta and the inputs")
    return (mixed / norm).astype(np.float32)


class PseudoRelevanceFeedback:
    """A ``refine(question, retrieved) -> str`` for iterative retrieval with no LLM.

    The next query is the question followed by :func:`prf_terms` of the retrieved texts
    (``retrieved`` best first; the first ``docs`` are the feedback, all of them the background).

    Args:
        terms: terms to add (``RetrievalSettings.prf_terms``).
        docs: top results read (``RetrievalSettings.prf_docs``).
    """

    def __init__(self, *, terms: int = 8, docs: int = 5) -> None:
        self._terms = terms
        self._docs = docs

    def __call__(self, question: str, retrieved: Sequence[str]) -> str:
        """The expanded query; the question itself when nothing distinctive was found."""
        added = prf_terms(question, retrieved, k=self._terms, docs=self._docs)
        return " ".join([question, *added]) if added else question
