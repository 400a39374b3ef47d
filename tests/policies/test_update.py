"""The update policy: validated decisions become plans of writes, latest truth by event time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from memsvc.config import DecaySettings
from memsvc.errors import LLMTimeout
from memsvc.llm.base import LLMTasks
from memsvc.policies.decay import initial_strength
from memsvc.policies.update import (
    FactInsert,
    FactPlan,
    FactReinforce,
    FactRewrite,
    FactSupersede,
    LLMUpdatePolicy,
    UpdatePolicy,
    build_plan,
)
from memsvc.types import Decision, DecisionOp, FactCandidate, FactStatus, KnownFact

from .fakes import ScriptedLLM

DECAY = DecaySettings()
JAN = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
MAR = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)

BERLIN = KnownFact(id=7, text="Alice lives in Berlin.", valid_from=JAN, similarity=0.83)
CATS = KnownFact(id=9, text="Alice has two cats.", valid_from=JAN, similarity=0.41)


def _candidate(text: str, when: datetime, events: tuple[int, ...] = (31, 32)) -> FactCandidate:
    return FactCandidate(text=text, source_event_ids=events, occurred_at=when, importance=0.8)


def test_update_add_inserts_an_active_fact_with_initial_strength() -> None:
    candidate = _candidate("Alice plays the cello.", MAR)
    plan = build_plan(candidate, Decision(DecisionOp.ADD, "new"), [BERLIN], decay=DECAY)
    assert plan == FactPlan(
        op=DecisionOp.ADD,
        reason="new",
        insert=FactInsert(
            text="Alice plays the cello.",
            source_event_ids=(31, 32),
            importance=0.8,
            strength=initial_strength(0.8, DECAY),
            valid_from=MAR,
        ),
    )
    assert plan.target_id is None


def test_update_contradiction_by_a_newer_fact_supersedes_the_old_one() -> None:
    candidate = _candidate("Alice moved to Paris.", MAR)
    decision = Decision(DecisionOp.INVALIDATE, "moved", target_id=7)
    plan = build_plan(candidate, decision, [BERLIN, CATS], decay=DECAY)
    assert plan.op is DecisionOp.INVALIDATE
    assert plan.insert is not None
    assert plan.insert.status is FactStatus.ACTIVE
    assert (plan.insert.valid_from, plan.insert.valid_to) == (MAR, None)
    assert plan.insert.superseded_by is None
    assert plan.supersede == FactSupersede(target_id=7, valid_to=MAR)
    assert plan.reinforce is None and plan.rewrite is None


def test_update_older_contradiction_arriving_later_is_stored_already_superseded() -> None:
    newer = KnownFact(id=7, text="Alice lives in Paris.", valid_from=MAR, similarity=0.8)
    late = _candidate("Alice lives in Berlin.", JAN)
    decision = Decision(DecisionOp.INVALIDATE, "conflicting city", target_id=7)
    plan = build_plan(late, decision, [newer], decay=DECAY)
    assert plan.op is DecisionOp.INVALIDATE
    assert plan.supersede is None  # the newer fact stays true
    assert plan.insert is not None
    assert plan.insert.status is FactStatus.SUPERSEDED
    assert (plan.insert.valid_from, plan.insert.valid_to) == (JAN, MAR)
    assert plan.insert.superseded_by == 7
    assert plan.target_id == 7


def test_update_contradiction_at_the_same_event_time_lets_the_candidate_win() -> None:
    plan = build_plan(
        _candidate("Alice moved to Paris.", JAN),
        Decision(DecisionOp.INVALIDATE, "same time", target_id=7),
        [BERLIN],
        decay=DECAY,
    )
    assert plan.supersede == FactSupersede(target_id=7, valid_to=JAN)


def test_update_merge_reinforces_the_target_and_carries_provenance() -> None:
    candidate = _candidate("Alice lives in Berlin", MAR, events=(40,))
    plan = build_plan(
        candidate, Decision(DecisionOp.MERGE, "duplicate", target_id=7), [BERLIN], decay=DECAY
    )
    assert plan == FactPlan(
        op=DecisionOp.MERGE,
        reason="duplicate",
        reinforce=FactReinforce(
            target_id=7, source_event_ids=(40,), importance=0.8, mentioned_at=MAR
        ),
    )


def test_update_update_rewrites_the_target_text() -> None:
    candidate = _candidate("Alice lives in Berlin-Kreuzberg.", MAR)
    decision = Decision(
        DecisionOp.UPDATE, "more precise", target_id=7, text="Alice lives in Kreuzberg, Berlin."
    )
    plan = build_plan(candidate, decision, [BERLIN], decay=DECAY)
    assert plan.rewrite == FactRewrite(
        target_id=7, text="Alice lives in Kreuzberg, Berlin.", source_event_ids=(31, 32)
    )
    assert plan.insert is None and plan.supersede is None


def test_update_update_without_text_uses_the_candidate_text() -> None:
    candidate = _candidate("Alice lives in Berlin-Kreuzberg.", MAR)
    decision = Decision(DecisionOp.UPDATE, "refines", target_id=7, text="  ")
    plan = build_plan(candidate, decision, [BERLIN], decay=DECAY)
    assert plan.rewrite is not None
    assert plan.rewrite.text == "Alice lives in Berlin-Kreuzberg."


@pytest.mark.parametrize("op", [DecisionOp.MERGE, DecisionOp.UPDATE, DecisionOp.INVALIDATE])
@pytest.mark.parametrize("target", [None, 8, 1234])
def test_update_target_outside_the_neighbours_becomes_add(
    op: DecisionOp, target: int | None
) -> None:
    candidate = _candidate("Alice moved to Paris.", MAR)
    plan = build_plan(
        candidate, Decision(op, "model says so", target_id=target), [BERLIN, CATS], decay=DECAY
    )
    assert plan.op is DecisionOp.ADD
    assert plan.insert is not None and plan.insert.status is FactStatus.ACTIVE
    assert plan.supersede is None and plan.reinforce is None and plan.rewrite is None
    assert "model says so" in plan.reason


def test_llm_update_policy_is_an_update_policy() -> None:
    policy = LLMUpdatePolicy(ScriptedLLM(), DECAY)
    assert isinstance(policy, UpdatePolicy)
    assert isinstance(ScriptedLLM(), LLMTasks)


def test_llm_update_policy_adds_without_asking_when_there_are_no_neighbours() -> None:
    llm = ScriptedLLM()  # raises if decide() is called
    plan = LLMUpdatePolicy(llm, DECAY).plan(_candidate("Alice plays chess.", MAR), [])
    assert plan.op is DecisionOp.ADD
    assert llm.decide_calls == 0


def test_llm_update_policy_merges_identical_text_without_asking() -> None:
    llm = ScriptedLLM()
    candidate = _candidate("  alice lives in   BERLIN ", MAR)
    plan = LLMUpdatePolicy(llm, DECAY).plan(candidate, [CATS, BERLIN])
    assert plan.op is DecisionOp.MERGE
    assert plan.target_id == 7
    assert llm.decide_calls == 0


def test_llm_update_policy_validates_the_model_decision() -> None:
    llm = ScriptedLLM(Decision(DecisionOp.INVALIDATE, "contradiction", target_id=99))
    plan = LLMUpdatePolicy(llm, DECAY).plan(_candidate("Alice moved to Paris.", MAR), [BERLIN])
    assert llm.decide_calls == 1
    assert plan.op is DecisionOp.ADD


def test_llm_update_policy_applies_event_time_to_the_model_decision() -> None:
    newer = KnownFact(id=7, text="Alice lives in Paris.", valid_from=MAR, similarity=0.8)
    llm = ScriptedLLM(Decision(DecisionOp.INVALIDATE, "contradiction", target_id=7))
    plan = LLMUpdatePolicy(llm, DECAY).plan(_candidate("Alice lives in Berlin.", JAN), [newer])
    assert plan.insert is not None
    assert plan.insert.status is FactStatus.SUPERSEDED
    assert plan.insert.valid_to == MAR


class _FailingLLM(ScriptedLLM):
    def decide(self, candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> Decision:
        raise LLMTimeout("provider did not answer")


def test_llm_update_policy_lets_model_errors_propagate() -> None:
    with pytest.raises(LLMTimeout):
        LLMUpdatePolicy(_FailingLLM(), DECAY).plan(_candidate("Alice moved.", MAR), [BERLIN])


def test_update_plan_times_are_utc_even_from_naive_input() -> None:
    naive = datetime(2024, 3, 5, 9, 0)
    plan = build_plan(_candidate("x", naive), Decision(DecisionOp.ADD, "new"), [], decay=DECAY)
    assert plan.insert is not None
    assert plan.insert.valid_from == naive.replace(tzinfo=UTC)
    assert plan.insert.valid_from.utcoffset() == timedelta(0)
