"""Atomic clauses and (subject, relation, value) triples by rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memsvc.llm.offline_facts import extract_facts_by_rules, stated_time
from memsvc.llm.triples import read_triple, relation_text, split_clauses
from memsvc.types import Turn, ValueType


@pytest.mark.parametrize(
    ("clause", "triple"),
    [
        ("Dana moved to Porto on 3 May 2023.", ("Dana", "moved to", "Porto", ValueType.PLACE)),
        ("Dana's partner is Mia.", ("Dana", "'s partner", "Mia", ValueType.PERSON)),
        ("Dana has a cat named Luna.", ("Dana", "has cat named", "Luna", ValueType.THING)),
        ("Dana got a job at Globex.", ("Dana", "got job at", "Globex", ValueType.ORGANISATION)),
        ("Dana works as a nurse.", ("Dana", "works as", "nurse", ValueType.THING)),
        ("Dana is from Chile.", ("Dana", "is from", "Chile", ValueType.PLACE)),
    ],
)
def test_read_triple_finds_subject_relation_and_typed_value(
    clause: str, triple: tuple[str, str, str, ValueType]
) -> None:
    reading = read_triple(clause)
    assert reading is not None
    assert (reading.subject, reading.phrase, reading.value, reading.value_type) == triple
    assert not reading.negated


def test_read_triple_reads_negation_and_cues() -> None:
    gone = read_triple("Dana doesn't live in Berlin anymore.")
    assert gone is not None and gone.negated and gone.value == "Berlin"
    assert relation_text(gone) == "live in a place"
    another = read_triple("Dana adopted another dog called Rex.")
    assert another is not None and another.cue == "addition" and another.value == "Rex"
    assert read_triple("Dana is tired.") is None


def test_split_clauses_cuts_coordinated_statements_and_keeps_the_subject() -> None:
    assert split_clauses("I moved to Porto and started at Acme.") == [
        "I moved to Porto",
        "I started at Acme.",
    ]
    assert split_clauses("I love Paris and Rome.") == ["I love Paris and Rome."]


def test_extracted_facts_are_atomic_name_third_parties_and_date_the_event() -> None:
    said = datetime(2023, 5, 20, 10, tzinfo=UTC)
    turns = [
        Turn(
            1,
            "Bob",
            "user",
            "My sister Ana moved to Rome two weeks ago and I work at Initech.",
            said,
        )
    ]
    facts = {f.object: f for f in extract_facts_by_rules(turns)}
    assert facts["Rome"].subject == "Ana" and facts["Initech"].subject == "Bob"
    assert facts["Rome"].occurred_at.date().isoformat() == "2023-05-06"
    assert facts["Initech"].occurred_at == said
    assert stated_time("Ana will move on 3 June 2023.", said) == said  # never in the future
