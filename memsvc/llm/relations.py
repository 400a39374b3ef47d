"""Relation normalisation by embedding the relation with its value masked (ALGORITHMS.md §8.4).

"moved to Porto", "Porto is home now" and "relocated to Porto" are one relation. A phrase is
embedded as :func:`memsvc.llm.triples.relation_text` writes it ("moved to a place"), and joins
the relation whose examples it is nearest to (cosine of the best example at or above
``threshold``); a phrase near none starts a relation of its own, named after the phrase's lemma
("support team" -> ``support_team``), so the set of relations grows with the text instead of
being a fixed list of slots. The examples of :data:`PRIOR_RELATIONS` are cold-start priors:
common relations of personal chat, each with whether it holds one value at a time.

The normaliser is deterministic (the same phrase gets the same relation), so a fact recomputed
from its source events gets its relation back. Two phrases that both started relations of their
own are compared by :meth:`RelationNormaliser.similarity` when conflicts are looked for.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from memsvc.embed.base import Embedder
from memsvc.llm.triples import Reading, relation_text
from memsvc.types import ValueType

__all__ = ["PRIOR_RELATIONS", "RelationNormaliser", "RelationPrior", "reading_of"]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class RelationPrior:
    """A relation known before any text: its name, examples, and whether it holds one value
    at a time (``True``), many (``False``), or it is left to the evidence (``None``)."""

    name: str
    single_valued: bool | None
    examples: tuple[str, ...]


PRIOR_RELATIONS: tuple[RelationPrior, ...] = (
    RelationPrior(
        "lives_in",
        True,
        (
            "lives in a place",
            "moved to a place",
            "their home is a place",
            "is based in a place",
            "relocated to a place",
            "is living in a place",
            "their city is a place",
            "resides in a place",
        ),
    ),
    RelationPrior(
        "works_at",
        True,
        (
            "works at an organisation",
            "works for an organisation",
            "got job at an organisation",
            "their employer is an organisation",
            "joined an organisation",
            "is employed by an organisation",
            "their company is an organisation",
        ),
    ),
    RelationPrior(
        "partner",
        True,
        (
            "dating someone",
            "their partner is someone",
            "their girlfriend is someone",
            "their boyfriend is someone",
            "married to someone",
            "is seeing someone",
            "is in a relationship with someone",
            "their wife is someone",
            "their husband is someone",
        ),
    ),
    RelationPrior(
        "job_title",
        True,
        (
            "works as nurse",
            "is teacher",
            "their job is engineer",
            "is working as accountant",
            "their profession is lawyer",
        ),
    ),
    RelationPrior(
        "has_pet",
        False,
        (
            "has dog named Rex",
            "has cat named Luna",
            "adopted dog named Max",
            "their dog is Rex",
            "their cat is Luna",
            "their pet is Bo",
        ),
    ),
    RelationPrior(
        "hobby",
        False,
        (
            "is into pottery",
            "enjoys hiking",
            "their hobby is painting",
            "took up climbing",
            "their pastime is chess",
        ),
    ),
    RelationPrior(
        "speaks",
        False,
        (
            "speaks Spanish",
            "is learning Italian",
            "is fluent in French",
            "their language is German",
        ),
    ),
    RelationPrior(
        "friend",
        False,
        ("friends with someone", "their friend is someone", "their best friend is someone"),
    ),
    RelationPrior(
        "visited",
        False,
        ("visited a place", "went to a place", "travelled to a place", "has been to a place"),
    ),
)

_SLUG = re.compile(r"[^a-z0-9]+")


def reading_of(
    subject: str, phrase: str, value: str, value_type: ValueType | str | None
) -> Reading:
    """A :class:`Reading` rebuilt from a stored fact's columns (for comparing relations)."""
    kind = ValueType(value_type) if value_type else ValueType.THING
    head = phrase.removeprefix("'s ").strip()
    return Reading(subject=subject, phrase=phrase, head=head, value=value, value_type=kind)


class RelationNormaliser:
    """Names the relation of a reading by its nearest prior, or by its own phrase.

    Args:
        embedder: embeds relation texts (the service's cached embedder).
        priors: relations known before any text (default :data:`PRIOR_RELATIONS`).
        threshold: the cosine to a prior's best example at or above which a phrase takes the
            prior's name.
    """

    def __init__(
        self,
        embedder: Embedder,
        priors: Sequence[RelationPrior] = PRIOR_RELATIONS,
        *,
        threshold: float = 0.72,
    ) -> None:
        self._embedder = embedder
        self._priors = tuple(priors)
        self._threshold = threshold
        self._lock = threading.Lock()
        self._examples: Vector | None = None
        self._owner: list[int] = []

    @property
    def single_valued(self) -> Mapping[str, bool | None]:
        """Each prior relation's cardinality."""
        return {p.name: p.single_valued for p in self._priors}

    def _example_vectors(self) -> Vector:
        with self._lock:
            if self._examples is None:
                texts = [e for p in self._priors for e in p.examples]
                self._owner = [i for i, p in enumerate(self._priors) for _ in p.examples]
                self._examples = np.asarray(self._embedder.embed(texts), dtype=np.float32)
            return self._examples

    def embed(self, readings: Sequence[Reading]) -> Vector:
        """The relation vectors of ``readings`` (unit length, one row each)."""
        if not readings:
            return np.zeros((0, self._embedder.dim), dtype=np.float32)
        return np.asarray(self._embedder.embed([relation_text(r) for r in readings]), np.float32)

    def name(self, readings: Sequence[Reading]) -> list[str]:
        """The relation name of each reading."""
        if not readings:
            return []
        examples = self._example_vectors()
        sims = self.embed(readings) @ examples.T
        out = []
        for reading, row in zip(readings, sims, strict=True):
            best = int(np.argmax(row))
            if float(row[best]) >= self._threshold:
                out.append(self._priors[self._owner[best]].name)
            else:
                out.append(_slug(reading.head) or "related_to")
        return out

    def similarity(self, a: Reading, others: Sequence[Reading]) -> list[float]:
        """Cosine between the relation of ``a`` and each of ``others``, values masked."""
        if not others:
            return []
        vectors = self.embed([a, *others])
        return [float(v) for v in vectors[1:] @ vectors[0]]


def _slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_")[:64]
