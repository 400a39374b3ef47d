"""Statements as people say them -> the triple memsvc keeps, and the relation it is named by.

The rules read the subject, value and negation; the relation's name comes from the packaged
embedding model (nearest known relation, values masked), so that part runs on the real model.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from memsvc.config import EmbedSettings
from memsvc.embed.base import Embedder
from memsvc.llm.offline_facts import extract_facts_by_rules
from memsvc.llm.relations import PRIOR_RELATIONS, RelationNormaliser, reading_of
from memsvc.types import FactCandidate, Turn, ValueType

AT = datetime(2024, 5, 10, 12, tzinfo=UTC)


def facts(speaker: str, text: str, *context: tuple[str, str]) -> list[FactCandidate]:
    turns = [Turn(i, s, "user", t, AT) for i, (s, t) in enumerate([*context, (speaker, text)])]
    return extract_facts_by_rules(turns)


def triples(speaker: str, text: str) -> set[tuple[str, str, bool]]:
    """(subject, value in lower case, negated) of every triple read from ``text``."""
    return {
        (str(c.subject), str(c.object).lower(), c.negated) for c in facts(speaker, text) if c.object
    }


@pytest.mark.parametrize(
    ("speaker", "text", "expected"),
    [
        ("Dana", "I'm a teacher.", ("Dana", "teacher", False)),
        ("Dana", "I quit being a nurse; I'm a teacher now.", ("Dana", "teacher", False)),
        ("Dana", "I quit being a nurse; I'm a teacher now.", ("Dana", "nurse", True)),
        ("Ravi", "Dana says she moved to Oslo.", ("Dana", "oslo", False)),
        ("Ravi", "Dana told me she's dating Noah now.", ("Dana", "noah", False)),
        ("Dana", "Sushi isn't my favourite food anymore; ramen is.", ("Dana", "ramen", False)),
        ("Dana", "Three weeks ago I packed up and moved to Porto.", ("Dana", "porto", False)),
        ("Dana", "I can speak Japanese too.", ("Dana", "japanese", False)),
        ("Dana", "I've been to Peru.", ("Dana", "peru", False)),
        ("Dana", "I don't live in Oslo anymore, I'm in Porto now.", ("Dana", "porto", False)),
        ("Dana", "I don't live in Oslo anymore, I'm in Porto now.", ("Dana", "oslo", True)),
        ("Dana", "I got rid of the Tesla, I drive a Volvo now.", ("Dana", "tesla", True)),
        ("Dana", "I have a new job as a pilot.", ("Dana", "pilot", False)),
        ("Dana", "I spend my weekends on pottery.", ("Dana", "pottery", False)),
        ("Dana", "Besides that, I do rock climbing.", ("Dana", "rock climbing", False)),
        ("Dana", "Felix is also a friend of mine.", ("Dana", "felix", False)),
        ("Dana", "I also hang out with my friend Felix.", ("Dana", "felix", False)),
        ("Dana", "I love ramen more than any other food.", ("Dana", "ramen", False)),
        ("Ravi", "Dana's favourite food is now ramen.", ("Dana", "ramen", False)),
        ("Ravi", "Apparently Dana works at Globex now.", ("Dana", "globex", False)),
        ("Ravi", "Honestly, Dana lives in Lyon.", ("Dana", "lyon", False)),
        ("Ravi", "Dana quit Initech, Dana works at Globex now.", ("Dana", "globex", False)),
        ("Ravi", "Dana doesn't drive the Kia any more, she drives a Volvo.", ("Dana", "kia", True)),
        ("Dana", "Felix and I are together now.", ("Dana", "felix", False)),
        ("Dana", "Felix and I are engaged.", ("Dana", "felix", False)),
        ("Ravi", "Dana told me pho is their favourite food.", ("Dana", "pho", False)),
        ("Ravi", "Dana said their new car is a Volvo.", ("Dana", "volvo", False)),
        ("Ravi", "Dana's favourite dish isn't pho anymore, it's curry.", ("Dana", "curry", False)),
        ("Ravi", "Dana's favourite dish isn't pho anymore, it's curry.", ("Dana", "pho", True)),
        ("Dana", "Nowadays I call Lisbon home.", ("Dana", "lisbon", False)),
        ("Dana", "After a decade in Oslo I moved to Bergen.", ("Dana", "bergen", False)),
        ("Dana", "Since March I work for Globex.", ("Dana", "globex", False)),
        ("Dana", "Felix is another good friend of mine.", ("Dana", "felix", False)),
    ],
)
def test_the_rules_read_who_has_which_value(
    speaker: str, text: str, expected: tuple[str, str, bool]
) -> None:
    assert expected in triples(speaker, text)


@pytest.mark.parametrize(
    ("speaker", "text", "value"),
    [
        ("Dana", "My sister lives in Rome.", "Rome"),
        ("Dana", "My brother Tom works at Globex now.", "Globex"),
        ("Ravi", "Dana's cousin moved to Lyon.", "Lyon"),
    ],
)
def test_another_persons_value_is_never_the_speakers(speaker: str, text: str, value: str) -> None:
    found = triples(speaker, text)
    assert not any(s == "Dana" and v == value.lower() for s, v, _ in found), found


@pytest.mark.parametrize(
    "text",
    [
        "Believe in Jon and keep pushing.",
        "Giving a home to needy kids is such a loving way to build a family.",
        "Jon is living their true self.",
    ],
)
def test_sayings_are_no_triples_about_anyone(text: str) -> None:
    assert all(c.relation is None for c in facts("Gina", text))
    kept = [c for c in facts("Gina", text) if c.subject]
    assert all(c.subject in ("Gina", "Jon") for c in kept), kept


def test_a_speaker_named_as_the_value_is_a_person() -> None:
    said = facts("Gina", "I'm here for Jon no matter what.", ("Jon", "Hi!"))
    found = [c for c in said if c.object]
    assert [(c.object, c.value_type) for c in found] == [("Jon", ValueType.PERSON)]


@pytest.fixture(scope="module")
def normaliser() -> Iterator[RelationNormaliser]:
    from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

    embedder: Embedder = SentenceTransformerEmbedder(EmbedSettings())
    yield RelationNormaliser(embedder)


@pytest.mark.parametrize(
    ("speaker", "text", "relation"),
    [
        ("Ravi", "Dana has a flat in Porto.", "lives_in"),
        ("Dana", "I'm based in Porto.", "lives_in"),
        ("Dana", "I took a job with Globex last week.", "works_at"),
        ("Ravi", "Dana is seeing Noah.", "partner"),
        ("Dana", "I got together with Noah two weeks ago.", "partner"),
        ("Dana", "I retrained as a teacher.", "job_title"),
        ("Dana", "I drive a Volvo.", "car"),
        ("Dana", "I switched to a Volvo.", "car"),
        ("Dana", "I drive a Saab.", "car"),
        ("Dana", "I work as a welder.", "job_title"),
        ("Ravi", "Dana is a surgeon now.", "job_title"),
        ("Dana", "I started working as a barista.", "job_title"),
        ("Dana", "I'm obsessed with ramen now, it's my new favourite food.", "favourite_food"),
        ("Dana", "I've got a tortoise called Max.", "has_pet"),
        ("Dana", "I'm really into rock climbing.", "hobby"),
        ("Dana", "I learned Japanese too.", "speaks"),
        ("Dana", "I made friends with Felix.", "friend"),
        ("Dana", "I travelled to Peru once.", "visited"),
        ("Dana", "I play the violin.", "instrument"),
        ("Dana", "I signed with Globex.", "works_at"),
        ("Dana", "My favourite pastime is archery.", "hobby"),
        ("Dana", "These days I call Lisbon home.", "lives_in"),
    ],
)
def test_phrasings_of_one_relation_get_its_name(
    normaliser: RelationNormaliser, speaker: str, text: str, relation: str
) -> None:
    found = [c for c in facts(speaker, text) if c.subject == "Dana" and c.object]
    names = normaliser.name(
        [reading_of(str(c.subject), str(c.predicate), str(c.object), c.value_type) for c in found]
    )
    assert relation in names, list(zip([c.text for c in found], names, strict=True))


@pytest.mark.parametrize(
    "text", ["I'm a vegetarian.", "I became a father.", "I'm a night owl.", "I'm a dog person."]
)
def test_a_plain_value_that_is_no_occupation_is_no_job(
    normaliser: RelationNormaliser, text: str
) -> None:
    found = [c for c in facts("Dana", text) if c.object]
    readings = [
        reading_of(str(c.subject), str(c.predicate), str(c.object), c.value_type) for c in found
    ]
    assert found and "job_title" not in normaliser.name(readings)


@pytest.mark.parametrize(
    ("speaker", "text"),
    [
        ("Dana", "I made pancakes this morning."),
        ("Dana", "I finished that book."),
        ("Ravi", "Dana's sister is Ana."),
    ],
)
def test_other_statements_take_no_one_value_relation(
    normaliser: RelationNormaliser, speaker: str, text: str
) -> None:
    found = [c for c in facts(speaker, text) if c.subject and c.object]
    names = normaliser.name(
        [reading_of(str(c.subject), str(c.predicate), str(c.object), c.value_type) for c in found]
    )
    single = {p.name for p in PRIOR_RELATIONS if p.single_valued}
    assert not single & set(names), names
