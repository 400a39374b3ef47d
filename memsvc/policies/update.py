"""The update policy: what a candidate fact does to the facts already known (ALGORITHMS.md §5).

The language model (:meth:`~memsvc.llm.base.LLMTasks.decide`) chooses ADD, MERGE, UPDATE or
INVALIDATE; this module validates that choice and turns it into a :class:`FactPlan`, a pure
value listing the writes that the consolidation pipeline applies in one transaction:

======================  ==================================================================
decision                writes
======================  ==================================================================
ADD                     insert the candidate (active)
MERGE                   reinforce the target (strength + 1), union its source events
UPDATE                  rewrite the target's text, union its source events
INVALIDATE (newer)      insert the candidate (active); supersede the target at the
                        candidate's ``occurred_at`` (``superseded_by`` = the new fact)
INVALIDATE (older)      insert the candidate already superseded: ``valid_to`` = the
                        target's ``valid_from``, ``superseded_by`` = the target
======================  ==================================================================

The last row is "latest truth wins by event time": a statement that arrives late but
happened before the fact it contradicts must not overturn the newer fact; it becomes history.
A decision naming a target that was not among the neighbours shown is treated as ADD, so a
model can never touch a fact outside the candidate's neighbourhood (or another user's).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, runtime_checkable

from memsvc.config import DecaySettings
from memsvc.llm.base import LLMTasks
from memsvc.policies.decay import initial_strength
from memsvc.types import Decision, DecisionOp, FactCandidate, FactStatus, KnownFact, utc

__all__ = [
    "FactInsert",
    "FactPlan",
    "FactReinforce",
    "FactRewrite",
    "FactSupersede",
    "HistoricFact",
    "LLMUpdatePolicy",
    "UpdatePolicy",
    "build_plan",
    "reclose_history",
]

logger = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class FactInsert:
    """A new fact row.

    ``superseded_by`` is set only when the fact is stored already superseded (it then names the
    existing, newer fact); ``status`` is ``ACTIVE`` or ``SUPERSEDED``.
    """

    text: str
    source_event_ids: tuple[int, ...]
    importance: float
    strength: float
    valid_from: datetime
    valid_to: datetime | None = None
    status: FactStatus = FactStatus.ACTIVE
    superseded_by: int | None = None
    subject: str | None = None
    predicate: str | None = None
    object: str | None = None
    relation: str | None = None
    value_type: str | None = None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class FactSupersede:
    """Close an existing fact: ``valid_to`` set, status superseded, and ``superseded_by`` = the
    id of the fact inserted by the same plan (known only once the pipeline has inserted it)."""

    target_id: int
    valid_to: datetime


@dataclass(frozen=True, slots=True)
class FactReinforce:
    """A repeated mention of an existing fact (MERGE).

    The pipeline applies :func:`memsvc.policies.decay.reinforce` to the row's strength and
    recall count, sets ``last_recalled_at`` to the later of its value and ``mentioned_at``,
    takes the larger importance, and unions ``source_event_ids`` into the row's.
    """

    target_id: int
    source_event_ids: tuple[int, ...]
    importance: float
    mentioned_at: datetime


@dataclass(frozen=True, slots=True)
class FactRewrite:
    """A refinement of an existing fact (UPDATE): new text, provenance unioned.

    ``subject``/``predicate``/``object`` replace the row's values only where not ``None``.
    """

    target_id: int
    text: str
    source_event_ids: tuple[int, ...]
    subject: str | None = None
    predicate: str | None = None
    object: str | None = None


@dataclass(frozen=True, slots=True)
class FactPlan:
    """Every write one candidate causes; apply all of it in one transaction, or none.

    Exactly one of these shapes occurs: ``insert`` alone (ADD, or INVALIDATE by an older
    candidate), ``insert`` + ``supersede`` (INVALIDATE by a newer candidate), ``reinforce``
    alone (MERGE), ``rewrite`` alone (UPDATE). Apply ``insert`` first: ``supersede`` refers to
    the inserted fact. ``reason`` goes to the history rows.
    """

    op: DecisionOp
    reason: str
    insert: FactInsert | None = None
    supersede: FactSupersede | None = None
    reinforce: FactReinforce | None = None
    rewrite: FactRewrite | None = None
    #: Facts already superseded whose validity the inserted (older, late-arriving) fact cuts
    #: short: ``valid_to`` moves back to the inserted fact's ``valid_from`` and
    #: ``superseded_by`` names it (history imported out of order lands in order).
    reclose: tuple[FactSupersede, ...] = ()

    @property
    def target_id(self) -> int | None:
        """The existing fact this plan touches or refers to, if any."""
        for part in (self.supersede, self.reinforce, self.rewrite):
            if part is not None:
                return part.target_id
        if self.insert is not None:
            return self.insert.superseded_by
        return None


@runtime_checkable
class UpdatePolicy(Protocol):
    """Decides what a candidate fact does to its most similar existing facts."""

    def plan(
        self,
        candidate: FactCandidate,
        neighbours: Sequence[KnownFact],
        history: Sequence[HistoricFact] = (),
    ) -> FactPlan:
        """The writes for ``candidate`` given its ``neighbours`` (most similar active facts)
        and ``history`` (superseded facts of the same subject and relation)."""
        ...


class LLMUpdatePolicy:
    """The update policy backed by :meth:`LLMTasks.decide`.

    Two cases skip the model: no neighbours (ADD) and a neighbour with the same text up to case,
    spacing and final punctuation (MERGE). Errors of the model (``LLMError``) propagate; the
    pipeline retries the job.

    Args:
        llm: the language tasks.
        decay: gives the initial strength of inserted facts.
    """

    def __init__(self, llm: LLMTasks, decay: DecaySettings) -> None:
        self._llm = llm
        self._decay = decay

    def plan(
        self,
        candidate: FactCandidate,
        neighbours: Sequence[KnownFact],
        history: Sequence[HistoricFact] = (),
    ) -> FactPlan:
        """Decide on ``candidate`` and return the validated plan (see :func:`reclose_history`
        for ``history``)."""
        if not neighbours:
            decision = Decision(op=DecisionOp.ADD, reason="no similar fact")
        else:
            same = _same_text(candidate, neighbours)
            if same is not None:
                decision = Decision(
                    op=DecisionOp.MERGE, reason="same text as an existing fact", target_id=same
                )
            else:
                decision = self._llm.decide(candidate, neighbours)
        plan = build_plan(candidate, decision, neighbours, decay=self._decay)
        return reclose_history(plan, candidate, history)


@dataclass(frozen=True, slots=True)
class HistoricFact:
    """A superseded fact of the candidate's subject and relation, with its validity."""

    id: int
    object: str | None
    valid_from: datetime
    valid_to: datetime | None


def reclose_history(
    plan: FactPlan, candidate: FactCandidate, history: Sequence[HistoricFact]
) -> FactPlan:
    """Cut short the superseded facts whose validity the inserted fact falls inside.

    Only for a single-valued relation and a plan that inserts a fact with another value: values
    Berlin (January), Paris (March), Rome (May) imported as Rome, Berlin, Paris leave Berlin
    valid until May; Paris arriving closes Berlin in March.
    """
    if plan.insert is None or candidate.single_valued is not True or candidate.negated:
        return plan
    start = plan.insert.valid_from
    value = _normalise(candidate.object or "")
    recloses = tuple(
        FactSupersede(target_id=h.id, valid_to=start)
        for h in history
        if utc(h.valid_from) < start
        and (h.valid_to is None or utc(h.valid_to) > start)
        and _normalise(h.object or "") != value
    )
    return replace(plan, reclose=recloses) if recloses else plan


def build_plan(
    candidate: FactCandidate,
    decision: Decision,
    neighbours: Sequence[KnownFact],
    *,
    decay: DecaySettings,
) -> FactPlan:
    """Validate ``decision`` against ``neighbours`` and turn it into a :class:`FactPlan`.

    A MERGE, UPDATE or INVALIDATE whose ``target_id`` is not a neighbour's id becomes ADD; an
    UPDATE without text uses the candidate's text.
    """
    if decision.op is DecisionOp.ADD:
        return FactPlan(op=DecisionOp.ADD, reason=decision.reason, insert=_insert(candidate, decay))
    target = next((n for n in neighbours if n.id == decision.target_id), None)
    if target is None:
        logger.warning(
            "update policy: %s names fact %s, which is not a neighbour; storing as add",
            decision.op.value,
            decision.target_id,
        )
        reason = f"{decision.reason} (target {decision.target_id} unknown: stored as new)"
        return FactPlan(op=DecisionOp.ADD, reason=reason, insert=_insert(candidate, decay))
    if decision.op is DecisionOp.MERGE:
        return _merge_plan(candidate, target, decision.reason)
    if decision.op is DecisionOp.UPDATE:
        return _update_plan(candidate, target, decision)
    return _invalidate_plan(candidate, target, decision.reason, decay)


def _insert(candidate: FactCandidate, decay: DecaySettings) -> FactInsert:
    return FactInsert(
        text=candidate.text,
        source_event_ids=tuple(candidate.source_event_ids),
        importance=candidate.importance,
        strength=initial_strength(candidate.importance, decay),
        valid_from=utc(candidate.occurred_at),
        subject=candidate.subject,
        predicate=candidate.predicate,
        object=candidate.object,
        relation=None if candidate.negated else candidate.relation,
        value_type=None if candidate.value_type is None else candidate.value_type.value,
        negated=candidate.negated,
    )


def _merge_plan(candidate: FactCandidate, target: KnownFact, reason: str) -> FactPlan:
    reinforce = FactReinforce(
        target_id=target.id,
        source_event_ids=tuple(candidate.source_event_ids),
        importance=candidate.importance,
        mentioned_at=utc(candidate.occurred_at),
    )
    return FactPlan(op=DecisionOp.MERGE, reason=reason, reinforce=reinforce)


def _update_plan(candidate: FactCandidate, target: KnownFact, decision: Decision) -> FactPlan:
    text = (decision.text or "").strip() or candidate.text
    rewrite = FactRewrite(
        target_id=target.id,
        text=text,
        source_event_ids=tuple(candidate.source_event_ids),
        subject=candidate.subject,
        predicate=candidate.predicate,
        object=candidate.object,
    )
    return FactPlan(op=DecisionOp.UPDATE, reason=decision.reason, rewrite=rewrite)


def _invalidate_plan(
    candidate: FactCandidate, target: KnownFact, reason: str, decay: DecaySettings
) -> FactPlan:
    insert = _insert(candidate, decay)
    target_from = utc(target.valid_from)
    if insert.valid_from < target_from:
        # Latest truth wins by event time: the late-arriving older statement becomes history.
        old = replace(
            insert,
            valid_to=target_from,
            status=FactStatus.SUPERSEDED,
            superseded_by=target.id,
        )
        return FactPlan(
            op=DecisionOp.INVALIDATE, reason=f"{reason} (older than fact {target.id})", insert=old
        )
    supersede = FactSupersede(target_id=target.id, valid_to=insert.valid_from)
    return FactPlan(op=DecisionOp.INVALIDATE, reason=reason, insert=insert, supersede=supersede)


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().rstrip(".!?;:").strip().casefold()


def _same_text(candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> int | None:
    wanted = _normalise(candidate.text)
    return next((n.id for n in neighbours if _normalise(n.text) == wanted), None)
