"""One value at a time, or many: configuration, priors, then evidence."""

from __future__ import annotations

from datetime import UTC, datetime

from memsvc.config import DecaySettings
from memsvc.policies.cardinality import RelationEvidence, is_single_valued
from memsvc.policies.update import FactPlan, HistoricFact, build_plan, reclose_history
from memsvc.types import Decision, DecisionOp, FactCandidate

NONE = RelationEvidence()


def test_configuration_wins_over_priors_and_evidence() -> None:
    lots = RelationEvidence(change=50)
    assert not is_single_valued("lives_in", evidence=lots, prior=True, multi={"lives_in"})
    assert is_single_valued("has_pet", evidence=NONE, prior=False, single={"has_pet"})


def test_a_prior_is_not_overturned_by_cues() -> None:
    new_dogs = RelationEvidence(change=30, addition=0)
    assert not is_single_valued("has_pet", evidence=new_dogs, prior=False, cue="change")
    assert is_single_valued("lives_in", evidence=RelationEvidence(addition=9), prior=True)


def test_unknown_relations_follow_the_evidence_and_default_to_many_values() -> None:
    assert not is_single_valued("car", evidence=NONE)
    assert is_single_valued("car", evidence=NONE, cue="change")
    assert is_single_valued("car", evidence=RelationEvidence(change=4, addition=1))
    assert not is_single_valued("car", evidence=RelationEvidence(change=2, concurrent=2))


def _at(month: int) -> datetime:
    return datetime(2023, month, 1, tzinfo=UTC)


def test_a_late_older_value_cuts_the_history_it_falls_inside() -> None:
    paris = FactCandidate(
        "Dana lives in Paris.", (3,), _at(3), "Dana", "lives in", "Paris", relation="lives_in",
        single_valued=True,
    )  # fmt: skip
    plan = build_plan(paris, Decision(DecisionOp.ADD, "new"), [], decay=DecaySettings())
    berlin = HistoricFact(1, "Berlin", _at(1), _at(5))
    later = HistoricFact(2, "Oslo", _at(6), _at(8))
    cut = reclose_history(plan, paris, [berlin, later])
    assert [(c.target_id, c.valid_to) for c in cut.reclose] == [(1, _at(3))]
    many = FactCandidate("Dana has a cat named Bo.", (4,), _at(3), "Dana", "has", "Bo")
    assert reclose_history(plan, many, [berlin]) == plan
    assert isinstance(cut, FactPlan)
