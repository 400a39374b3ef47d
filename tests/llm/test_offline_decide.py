"""OfflineLLMTasks.decide: slots, negation, duplicates, refinements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memsvc.embed.hashing import HashingEmbedder
from memsvc.llm.offline import OfflineLLMTasks
from memsvc.types import DecisionOp, FactCandidate, KnownFact

AT = datetime(2024, 5, 1, tzinfo=UTC)


def _candidate(text: str) -> FactCandidate:
    return FactCandidate(text=text, source_event_ids=(9,), occurred_at=AT)


def _known(text: str, similarity: float, fact_id: int = 1) -> KnownFact:
    return KnownFact(id=fact_id, text=text, valid_from=AT, similarity=similarity)


@pytest.fixture
def tasks() -> OfflineLLMTasks:
    return OfflineLLMTasks(HashingEmbedder())


def test_decide_invalidates_the_old_city_when_someone_lives_elsewhere(
    tasks: OfflineLLMTasks,
) -> None:
    # MiniLM puts these two at cosine ~0.8: similarity alone would merge or add them.
    decision = tasks.decide(
        _candidate("Alice lives in Paris."), [_known("Alice lives in Berlin.", 0.93)]
    )
    assert decision.op is DecisionOp.INVALIDATE
    assert decision.target_id == 1
    assert "residence" in decision.reason


def test_decide_invalidates_across_predicates_of_one_slot(tasks: OfflineLLMTasks) -> None:
    decision = tasks.decide(
        _candidate("Alice moved to Paris in June."),
        [_known("Bob lives in Rome.", 0.7, 1), _known("Alice lives in Berlin.", 0.6, 2)],
    )
    assert (decision.op, decision.target_id) == (DecisionOp.INVALIDATE, 2)


def test_decide_merges_a_duplicate(tasks: OfflineLLMTasks) -> None:
    decision = tasks.decide(_candidate("alice likes jazz"), [_known("Alice likes jazz.", 0.99, 7)])
    assert (decision.op, decision.target_id) == (DecisionOp.MERGE, 7)


def test_decide_merges_at_high_cosine(tasks: OfflineLLMTasks) -> None:
    decision = tasks.decide(
        _candidate("Alice really enjoys jazz music."), [_known("Alice likes jazz.", 0.95, 7)]
    )
    assert (decision.op, decision.target_id) == (DecisionOp.MERGE, 7)


def test_decide_adds_an_unrelated_fact(tasks: OfflineLLMTasks) -> None:
    decision = tasks.decide(
        _candidate("Alice has a dog named Rex."), [_known("Alice lives in Berlin.", 0.35)]
    )
    assert decision.op is DecisionOp.ADD
    assert decision.target_id is None


def test_decide_adds_a_second_value_of_a_many_valued_predicate(tasks: OfflineLLMTasks) -> None:
    decision = tasks.decide(_candidate("Alice likes rock."), [_known("Alice likes jazz.", 0.8)])
    assert decision.op is DecisionOp.ADD


def test_decide_updates_with_a_refinement(tasks: OfflineLLMTasks) -> None:
    text = "Alice likes jazz, especially Miles Davis records."
    decision = tasks.decide(_candidate(text), [_known("Alice likes jazz.", 0.8, 3)])
    assert (decision.op, decision.target_id, decision.text) == (DecisionOp.UPDATE, 3, text)


def test_decide_updates_a_slot_with_a_more_specific_value(tasks: OfflineLLMTasks) -> None:
    text = "Alice lives in Kreuzberg, Berlin."
    decision = tasks.decide(_candidate(text), [_known("Alice lives in Berlin.", 0.9, 4)])
    assert (decision.op, decision.target_id, decision.text) == (DecisionOp.UPDATE, 4, text)


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ("Alice no longer lives in Berlin.", "Alice lives in Berlin."),
        ("Alice doesn't drink coffee anymore.", "Alice drinks coffee every morning."),
        ("Alice is not vegetarian any more.", "Alice is vegetarian."),
        ("Alice does not like jazz.", "Alice likes jazz."),
        ("Alice drinks coffee again.", "Alice doesn't drink coffee anymore."),
    ],
)
def test_decide_invalidates_on_negation(tasks: OfflineLLMTasks, new: str, old: str) -> None:
    decision = tasks.decide(_candidate(new), [_known(old, 0.8, 5)])
    assert (decision.op, decision.target_id) == (DecisionOp.INVALIDATE, 5)


def test_decide_ignores_negation_of_an_unrelated_fact(tasks: OfflineLLMTasks) -> None:
    decision = tasks.decide(
        _candidate("Alice doesn't eat meat anymore."), [_known("Alice plays tennis.", 0.3)]
    )
    assert decision.op is DecisionOp.ADD


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ("Alice works at Google.", "Alice works at Microsoft."),
        ("Alice is 31 years old.", "Alice is 30 years old."),
        ("Alice's husband Tom is a chef.", "Alice is married to Bob."),
        ("Alice works as a nurse.", "Alice works as a teacher."),
    ],
)
def test_decide_invalidates_single_valued_slots(tasks: OfflineLLMTasks, new: str, old: str) -> None:
    decision = tasks.decide(_candidate(new), [_known(old, 0.9, 6)])
    assert (decision.op, decision.target_id) == (DecisionOp.INVALIDATE, 6)


def test_decide_uses_given_triples_over_parsing(tasks: OfflineLLMTasks) -> None:
    candidate = FactCandidate(
        text="Alice's home is now Paris.",
        source_event_ids=(1,),
        occurred_at=AT,
        subject="Alice",
        predicate="lives_in",
        object="Paris",
    )
    old = KnownFact(
        id=2,
        text="Alice is a Berliner.",
        valid_from=AT,
        similarity=0.5,
        subject="alice",
        predicate="lives in",
        object="Berlin",
    )
    assert tasks.decide(candidate, [old]).op is DecisionOp.INVALIDATE


def test_decide_without_neighbours_adds(tasks: OfflineLLMTasks) -> None:
    assert tasks.decide(_candidate("Alice lives in Paris."), []).op is DecisionOp.ADD
