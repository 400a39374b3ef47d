"""Rule-based fact extraction on real LoCoMo turns (conv-26: Caroline and Melanie)."""

from __future__ import annotations

from typing import Any

from conftest import locomo_turns

from memsvc.llm.offline_facts import addressees, extract_facts_by_rules, statements
from memsvc.types import FactCandidate


def _facts(locomo: list[dict[str, Any]], sessions: list[int]) -> list[FactCandidate]:
    return extract_facts_by_rules(locomo_turns(locomo[0], sessions))


def test_extract_facts_names_the_speaker_instead_of_first_person(
    locomo: list[dict[str, Any]],
) -> None:
    facts = _facts(locomo, [1])
    # D1:11 Caroline: "I'm keen on counseling or working in mental health - I'd love to ..."
    counseling = [f for f in facts if "counseling" in f.text]
    assert len(counseling) == 1
    assert counseling[0].text.startswith("Caroline is keen on counseling")
    assert "Caroline would love to support" in counseling[0].text
    for fact in facts:
        words = fact.text.replace(",", " ").replace(".", " ").split()
        assert not {"I", "I'm", "my", "me", "My"} & set(words), fact.text


def test_extract_facts_turns_relative_dates_into_absolute_ones(
    locomo: list[dict[str, Any]],
) -> None:
    # Session 1 is on Monday 8 May 2023; D1:3 "I went to a LGBTQ support group yesterday".
    support = [f for f in _facts(locomo, [1]) if "support group" in f.text and "went" in f.text]
    assert support[0].text.startswith("Caroline went to a LGBTQ support group on 7 May 2023")
    assert "yesterday" not in support[0].text
    # Session 2 is on Thursday 25 May 2023; D2:1 "I ran a charity race ... last Saturday".
    race = [f for f in _facts(locomo, [2]) if "charity race" in f.text]
    assert "Melanie ran a charity race for mental health on 20 May 2023" in race[0].text


def test_extract_facts_finds_the_data_sets_own_observation(
    locomo: list[dict[str, Any]],
) -> None:
    observation = locomo[0]["observation"]["session_1_observation"]["Melanie"]
    assert [
        "Melanie painted a lake sunrise last year which holds special meaning to her.",
        "D1:14",
    ] in observation
    facts = _facts(locomo, [1])
    painted = [f for f in facts if "painted" in f.text]
    # D1:14 Melanie: "Yeah, I painted that lake sunrise last year! It's special to me."
    assert painted[0].text == "Melanie painted that lake sunrise in 2022."
    assert painted[0].source_event_ids == (14,)


def test_extract_facts_skips_greetings_questions_and_reactions(
    locomo: list[dict[str, Any]],
) -> None:
    turns = locomo_turns(locomo[0], [1])
    sources = {i for f in extract_facts_by_rules(turns) for i in f.source_event_ids}
    # D1:1 "Hey Mel! Good to see you! How have you been?", D1:4 questions only,
    # D1:13 "Thanks, Melanie! That's really sweet. Is this your own painting?"
    assert not {1, 4, 13} & sources
    assert {3, 11, 14} <= sources


def test_extract_facts_replaces_you_with_the_addressee(locomo: list[dict[str, Any]]) -> None:
    turns = locomo_turns(locomo[0], [1])
    said = turns[5]  # D1:6 Melanie: "... So cool you found such a helpful group. ..."
    assert addressees(turns)[5] == "Caroline"
    from dataclasses import replace

    statement_turn = replace(said, text="I think you found such a helpful group.")
    facts = extract_facts_by_rules([statement_turn], context=turns[:5])
    assert facts[0].text == "Melanie thinks Caroline found such a helpful group."


def test_extract_facts_reads_subject_predicate_object() -> None:
    from datetime import UTC, datetime

    from memsvc.types import Turn, ValueType

    at = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    turns = [
        Turn(1, "Alice", "user", "Hi! I just moved to Lisbon with my dog Rex.", at),
        Turn(2, "Bob", "assistant", "Nice! How do you like it?", at),
        Turn(3, "Alice", "user", "I love it. I work at Acme as a designer now.", at),
        Turn(4, "Alice", "user", "My sister Anna lives in Porto.", at),
        Turn(5, "Alice", "user", "I feel so happy and relaxed.", at),
    ]
    facts = {f.text: f for f in extract_facts_by_rules(turns)}
    moved = facts["Alice just moved to Lisbon with their dog Rex."]
    assert (moved.subject, moved.predicate, moved.object) == ("Alice", "moved to", "Lisbon")
    assert moved.value_type is ValueType.PLACE and moved.cue == "change"
    work = facts["Alice works at Acme as a designer now."]
    assert (work.predicate, work.object) == ("works at", "Acme")
    # the sister is named: the fact is about her, not about "Alice's sister"
    sister = facts["Anna lives in Porto."]
    assert (sister.subject, sister.predicate, sister.object) == ("Anna", "lives in", "Porto")
    assert "Alice loves it." not in facts  # too short to be a fact
    assert moved.importance > facts["Alice feels so happy and relaxed."].importance


def test_statements_keep_the_turn_they_come_from(locomo: list[dict[str, Any]]) -> None:
    turns = locomo_turns(locomo[0], [1])
    found = statements(turns)
    assert all(s.sentence in s.turn.text or s.sentence[1:] in s.turn.text for s in found)
