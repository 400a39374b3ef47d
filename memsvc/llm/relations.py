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
from memsvc.llm.triples import Reading, relation_text, relation_texts
from memsvc.types import ValueType

__all__ = [
    "PRIOR_QUESTIONS",
    "PRIOR_RELATIONS",
    "QuestionRelations",
    "RelationNormaliser",
    "RelationPrior",
    "reading_of",
]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class RelationPrior:
    """A relation known before any text: its name, examples, and whether it holds one value
    at a time (``True``), many (``False``), or it is left to the evidence (``None``)."""

    name: str
    single_valued: bool | None
    examples: tuple[str, ...]
    #: What its values are when no type says it ("an occupation"): a plain value stated by a
    #: copula or an "as" phrase ("is an electrician", "works as a welder") that is nearest
    #: these takes the relation, since the phrase itself names none.
    value_kinds: tuple[str, ...] = ()


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
            "has a flat in a place",
            "has an apartment in a place",
            "rents a house in a place",
            "settled in a place",
            "moved back to a place",
            "is in a place",
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
            "their job is at an organisation",
            "took a job with an organisation",
            "started at an organisation",
            "was hired by an organisation",
            "signed with an organisation",
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
            "is together with someone",
            "is with someone",
            "is engaged to someone",
            "is going out with someone",
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
            "became a doctor",
            "retrained as a plumber",
            "has a job as a chef",
            "trained as a pilot",
            "is employed as a baker",
        ),
        value_kinds=("an occupation", "a profession", "someone's job"),
    ),
    RelationPrior(
        "car",
        True,
        (
            "drives a Toyota",
            "their car is a Ford",
            "bought a Honda car",
            "drives a BMW",
            "is driving an Audi",
            "got a new Fiat car",
            "switched to a Hyundai car",
            "owns a Volkswagen car",
            "has a Jeep",
            "gets around in a Jeep",
            # a make of no known type is compared masked as "a name": "drives a Saab"
            "drives a name",
        ),
    ),
    RelationPrior(
        "favourite_food",
        True,
        (
            "their favourite food is pizza",
            "their favourite dish is lasagne",
            "loves burgers more than any other food",
            "the best food is pasta",
            "is obsessed with noodles",
            "their favourite meal is soup",
            "loves pizza most of all",
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
            "has a rabbit called a name",
            "owns a hamster named a name",
            "got a parrot named a name",
            "their kitten is a name",
            "rescued a puppy",
            "has a pet snake",
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
            "spends weekends on sailing",
            "loves gardening",
            "does yoga",
            "got into running",
            "goes fishing",
            "their favourite hobby is baking",
            "picked up juggling",
            "into skateboarding",
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
            "can speak Russian",
            "their native language is Polish",
            "learned Greek",
            "picked up Swedish",
        ),
    ),
    RelationPrior(
        "friend",
        False,
        (
            "friends with someone",
            "their friend is someone",
            "their best friend is someone",
            "made friends with someone",
            "hangs out with friend someone",
            "their buddy is someone",
        ),
    ),
    RelationPrior(
        "family",
        False,
        (
            "their sister is someone",
            "their brother is someone",
            "their mother is someone",
            "their father is someone",
            "their son is someone",
            "their daughter is someone",
            "their cousin is someone",
        ),
    ),
    RelationPrior(
        "visited",
        False,
        (
            "visited a place",
            "went to a place",
            "travelled to a place",
            "has been to a place",
            "their trip was to a place",
            "toured a place",
            "went on holiday to a place",
        ),
    ),
    RelationPrior(
        "instrument",
        False,
        (
            "plays the guitar",
            "is learning the piano",
            "practises the trumpet",
            "their instrument is the harp",
            "took up the clarinet",
            "can play the organ",
            "plays drums in a band",
            "is learning to play the trombone",
            "practises the accordion every day",
            "plays the harmonica",
        ),
    ),
)

#: How people ask for each prior relation, the person masked as "someone" (see
#: :class:`QuestionRelations`).
PRIOR_QUESTIONS: Mapping[str, tuple[str, ...]] = {
    "lives_in": (
        "Where does someone live?",
        "Which city does someone live in?",
        "Where is someone based?",
        "Where is someone's home?",
        "What city is someone in?",
    ),
    "works_at": (
        "Where does someone work?",
        "Who is someone's employer?",
        "Which company does someone work for?",
        "Where is someone employed?",
    ),
    "partner": (
        "Who is someone dating?",
        "Who is someone's partner?",
        "Who is someone in a relationship with?",
        "Who is someone's girlfriend or boyfriend?",
        "Who is someone married to?",
    ),
    "job_title": (
        "What does someone do for a living?",
        "What is someone's job?",
        "What is someone's profession?",
        "What does someone work as?",
    ),
    "car": (
        "What car does someone drive?",
        "What car does someone have?",
        "What is someone's car?",
    ),
    "favourite_food": (
        "What is someone's favourite food?",
        "What food does someone like best?",
        "What does someone love to eat?",
    ),
    "has_pet": (
        "What pets does someone have?",
        "What is the name of someone's dog?",
        "Does someone have a cat?",
    ),
    "hobby": (
        "What are someone's hobbies?",
        "What does someone do for fun?",
        "What does someone do in their free time?",
    ),
    "speaks": ("What languages does someone speak?", "Which language can someone speak?"),
    "friend": ("Who are someone's friends?", "Who is someone's best friend?"),
    "family": ("Who is someone's sister?", "Who is in someone's family?"),
    "visited": (
        "Which countries has someone visited?",
        "Where has someone travelled?",
        "Where did someone go on holiday?",
    ),
    "instrument": ("Which instruments does someone play?", "What instrument does someone play?"),
}

_SLUG = re.compile(r"[^a-z0-9]+")
# A value longer than this, or with a pronoun in it, is a clause the rules read as a value
# ("give kids a loving home", "their true self"): it never takes a known relation's name.
_MAX_PRIOR_VALUE_WORDS = 3
# a phrase that names no relation of its own: the value says what is stated
_PLAIN_PHRASE = re.compile(
    r"^(?:is|are|was|am|be|became|become|becomes|(?:has |have )?(?:a )?job as|"
    r"(?:works?|worked|working|employed|(?:re)?trained|qualified|started|starts) as)$",
    re.IGNORECASE,
)
_PLAIN_VALUE = re.compile(r"^[a-z][a-z\-]*(?: [a-z][a-z\-]*)?$")
# cosine of a value to a prior's value kinds at or above which the value is of that kind
_VALUE_KIND_FLOOR = 0.4
# kinds of plain value that no prior takes ("became a father", "is a dog person"): a value
# nearer one of these than to every prior's kinds is left to the phrase
_OTHER_KINDS = (
    "a family role",
    "a parent",
    "a mum or dad",
    "a kind of person",
    "a personality trait",
)
_PRONOUNS = re.compile(r"\b(?:their|them|they|his|her|him|it|its|this|that|those|these)\b", re.I)


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
        floor, margin: below ``threshold``, a phrase still takes the nearest prior's name
            when its cosine is at least ``floor`` and ahead of every other prior's by
            ``margin`` (a value of no known type stays in the text, "plays violin", and keeps
            cosines low while the nearest relation is plain).
    """

    def __init__(
        self,
        embedder: Embedder,
        priors: Sequence[RelationPrior] = PRIOR_RELATIONS,
        *,
        threshold: float = 0.72,
        floor: float = 0.45,
        margin: float = 0.12,
    ) -> None:
        self._embedder = embedder
        self._priors = tuple(priors)
        self._threshold = threshold
        self._floor = floor
        self._margin = margin
        self._lock = threading.Lock()
        self._examples: Vector | None = None
        self._owner: list[int] = []
        self._kinds: Vector | None = None
        self._kind_owner: list[int] = []

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

    def _kind_vectors(self) -> Vector:
        with self._lock:
            if self._kinds is None:
                texts = [k for p in self._priors for k in p.value_kinds]
                self._kind_owner = [i for i, p in enumerate(self._priors) for _ in p.value_kinds]
                if texts:
                    texts += _OTHER_KINDS
                    self._kind_owner += [-1] * len(_OTHER_KINDS)
                dim = self._embedder.dim
                self._kinds = (
                    np.asarray(self._embedder.embed(texts), dtype=np.float32)
                    if texts
                    else np.zeros((0, dim), dtype=np.float32)
                )
            return self._kinds

    def _by_value_kind(self, readings: Sequence[Reading]) -> dict[int, str]:
        """The prior each plainly stated value is of, by position in ``readings``."""
        plain = [
            i
            for i, r in enumerate(readings)
            if r.value_type is ValueType.THING
            and _PLAIN_PHRASE.match(r.phrase.strip())
            and _PLAIN_VALUE.match(r.value.strip())
        ]
        kinds = self._kind_vectors() if plain else None
        if kinds is None or not len(kinds):
            return {}
        values = np.asarray(
            self._embedder.embed([readings[i].value.strip() for i in plain]), dtype=np.float32
        )
        sims = values @ kinds.T
        owners = self._kind_owner
        out = {}
        for i, row in zip(plain, sims, strict=True):
            best = int(np.argmax(row))
            if owners[best] >= 0 and float(row[best]) >= _VALUE_KIND_FLOOR:
                out[i] = self._priors[owners[best]].name
        return out

    def embed(self, readings: Sequence[Reading]) -> Vector:
        """The relation vectors of ``readings`` (unit length, one row each)."""
        if not readings:
            return np.zeros((0, self._embedder.dim), dtype=np.float32)
        return np.asarray(self._embedder.embed([relation_text(r) for r in readings]), np.float32)

    def name(self, readings: Sequence[Reading]) -> list[str]:
        """The relation name of each reading.

        A reading is compared through each of its :func:`relation_texts` (the value masked by
        its type, and a capitalised value of no known type masked as a name); the best cosine
        to a prior's example decides. A plain value stated by a phrase that names no relation
        ("is", "works as") takes the prior whose ``value_kinds`` it is of, when it is of one.
        """
        if not readings:
            return []
        examples = self._example_vectors()
        texts = [relation_texts(r) for r in readings]
        flat = [t for group in texts for t in group]
        vectors = np.asarray(self._embedder.embed(flat), dtype=np.float32)
        sims = vectors @ examples.T
        owners = np.asarray(self._owner)
        by_kind = self._by_value_kind(readings)
        out = []
        row = 0
        for position, (reading, group) in enumerate(zip(readings, texts, strict=True)):
            if position in by_kind:  # "is an electrician": the value, not the phrase, tells
                out.append(by_kind[position])
                row += len(group)
                continue
            chosen: tuple[float, int] | None = None
            words = reading.value.split()
            value_like = len(words) <= _MAX_PRIOR_VALUE_WORDS and not _PRONOUNS.search(
                reading.value
            )
            for text_sims in sims[row : row + len(group)] if value_like else ():
                per_prior = np.full(len(self._priors), -1.0, dtype=np.float32)
                np.maximum.at(per_prior, owners, text_sims)
                order = np.argsort(-per_prior)
                best, second = float(per_prior[order[0]]), float(per_prior[order[1]])
                sure = best >= self._threshold or (
                    len(words) <= 2 and best >= self._floor and best - second >= self._margin
                )
                if sure and (chosen is None or best > chosen[0]):
                    chosen = (best, int(order[0]))
            row += len(group)
            if chosen is not None:
                out.append(self._priors[chosen[1]].name)
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


class QuestionRelations:
    """Which known relation a question asks for ("Where does Dana live?" -> ``lives_in``).

    The question, with the people it names masked as "someone", is compared with how each
    relation is asked for (:data:`PRIOR_QUESTIONS`); the nearest relation is the answer when its
    cosine is at least ``threshold`` and ahead of every other relation's by ``margin``.
    """

    def __init__(
        self,
        embedder: Embedder,
        questions: Mapping[str, Sequence[str]] = PRIOR_QUESTIONS,
        *,
        threshold: float = 0.6,
        margin: float = 0.05,
    ) -> None:
        self._embedder = embedder
        self._names = [name for name, texts in questions.items() for _ in texts]
        self._texts = [text for texts in questions.values() for text in texts]
        self._relations = sorted(set(self._names))
        self._threshold = threshold
        self._margin = margin
        self._lock = threading.Lock()
        self._vectors: Vector | None = None

    @property
    def relations(self) -> frozenset[str]:
        """The relations questions are matched against."""
        return frozenset(self._relations)

    def relation(self, question: str, people: Sequence[str]) -> str | None:
        """The relation ``question`` asks for about one of ``people``, or ``None``."""
        masked = question
        for person in sorted(people, key=len, reverse=True):
            masked = re.sub(rf"\b{re.escape(person)}\b", "someone", masked, flags=re.I)
        if masked == question:
            return None
        with self._lock:
            if self._vectors is None:
                self._vectors = np.asarray(self._embedder.embed(self._texts), dtype=np.float32)
            vectors = self._vectors
        query = np.asarray(self._embedder.embed([masked]), dtype=np.float32)[0]
        best: dict[str, float] = {}
        for name, sim in zip(self._names, vectors @ query, strict=True):
            best[name] = max(best.get(name, -1.0), float(sim))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        top, second = ranked[0], ranked[1] if len(ranked) > 1 else ("", -1.0)
        if top[1] >= self._threshold and top[1] - second[1] >= self._margin:
            return top[0]
        return None
