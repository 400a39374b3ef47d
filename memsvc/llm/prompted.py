"""The language tasks through prompts, over any chat-completion function.

:class:`PromptedTasks` turns each task into messages (:mod:`memsvc.llm.prompts`), sends them
through :meth:`PromptedTasks._complete` (implemented by the litellm and local backends), and
turns the validated answer (:mod:`memsvc.llm.structured`) into domain values. It also keeps the
:class:`~memsvc.llm.base.LLMUsage` totals, under a lock because tasks run on several threads.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial

from memsvc.llm.base import LLMUsage
from memsvc.llm.prompts import (
    ChatMessage,
    aggregate_messages,
    decide_messages,
    extract_facts_messages,
    refine_query_messages,
    summarize_messages,
)
from memsvc.llm.structured import (
    DecisionOutput,
    FactsOutput,
    OutputProblem,
    complete_json,
    complete_text,
)
from memsvc.llm.triples import cue_of
from memsvc.types import (
    Decision,
    DecisionOp,
    FactCandidate,
    KnownFact,
    SummaryKind,
    Turn,
    ValueType,
    utc,
)

__all__ = ["PromptedTasks"]


def _value_type(value: str | None) -> ValueType | None:
    """The model's value type, when it is one of :class:`ValueType`."""
    try:
        return ValueType(value.strip().lower()) if value else None
    except ValueError:
        return None


def _happened_at(value: str | None, said_at: datetime) -> datetime:
    """The day the model says the fact became true, when it is a date not after ``said_at``."""
    if not value:
        return said_at
    try:
        day = datetime.fromisoformat(value.strip()[:10]).replace(hour=12, tzinfo=UTC)
    except ValueError:
        return said_at
    return day if day.date() < utc(said_at).date() else said_at


class PromptedTasks(abc.ABC):
    """Base of the model-backed implementations of :class:`~memsvc.llm.base.LLMTasks`."""

    def __init__(self) -> None:
        self._usage = LLMUsage()
        self._usage_lock = threading.Lock()

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Which implementation and model."""

    @property
    def usage(self) -> LLMUsage:
        """Token and cost totals so far (a live object; read its fields)."""
        return self._usage

    @abc.abstractmethod
    def _complete(self, messages: Sequence[ChatMessage], *, json_mode: bool) -> str:
        """Send ``messages``; return the answer's text. Raises ``LLMError`` subclasses."""

    def _record(self, *, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        with self._usage_lock:
            self._usage.calls += 1
            self._usage.prompt_tokens += prompt_tokens
            self._usage.completion_tokens += completion_tokens
            self._usage.cost_usd += cost_usd

    def _record_failure(self) -> None:
        with self._usage_lock:
            self._usage.failures += 1

    def extract_facts(
        self, turns: Sequence[Turn], *, context: Sequence[Turn] = ()
    ) -> list[FactCandidate]:
        """Facts of ``turns`` as the model writes them; unknown source ids are dropped."""
        if not turns:
            return []
        answer = complete_json(
            partial(self._complete, json_mode=True),
            extract_facts_messages(turns, context),
            FactsOutput,
            task="extract_facts",
        )
        by_id = {t.event_id: t for t in turns}
        out = []
        for fact in answer.facts:
            ids = tuple(sorted({i for i in fact.source_ids if i in by_id})) or tuple(by_id)
            said_at = max(by_id[i].occurred_at for i in ids)
            subject = fact.subject or None
            if subject is not None and subject.casefold() in ("user", "the user", "assistant"):
                subject = by_id[ids[0]].speaker  # never "User": the speaker of the turn
            out.append(
                FactCandidate(
                    text=fact.text,
                    source_event_ids=ids,
                    occurred_at=_happened_at(fact.happened_at, said_at),
                    subject=subject,
                    predicate=fact.predicate or None,
                    object=fact.object or None,
                    importance=fact.importance,
                    value_type=_value_type(fact.value_type),
                    negated=fact.negated,
                    cue=cue_of(fact.text),
                )
            )
        return out

    def decide(self, candidate: FactCandidate, neighbours: Sequence[KnownFact]) -> Decision:
        """The model's choice; a target must be one of ``neighbours`` (else repaired once)."""
        if not neighbours:
            return Decision(DecisionOp.ADD, "no similar fact is stored")
        known = {n.id for n in neighbours}

        def check(answer: DecisionOutput) -> None:
            if answer.op is not DecisionOp.ADD and answer.target_id not in known:
                raise OutputProblem(
                    f"target_id must be one of {sorted(known)} for op {answer.op.value}"
                )

        answer = complete_json(
            partial(self._complete, json_mode=True),
            decide_messages(candidate, neighbours),
            DecisionOutput,
            task="decide",
            check=check,
        )
        if answer.op is DecisionOp.ADD:
            return Decision(DecisionOp.ADD, answer.reason or "new information")
        text = (answer.text or candidate.text) if answer.op is DecisionOp.UPDATE else None
        return Decision(answer.op, answer.reason or answer.op.value, answer.target_id, text)

    def summarize(self, texts: Sequence[str], kind: SummaryKind) -> str:
        """The model's summary of ``texts``."""
        if not texts:
            return ""
        return complete_text(
            partial(self._complete, json_mode=False),
            summarize_messages(texts, kind),
            task=f"summarize_{kind.value}",
        )

    def aggregate(self, node_text: str, new_text: str, n: int) -> str:
        """MemTree's aggregation; the first entry of a node is taken as it is."""
        if not node_text.strip():
            return new_text.strip()
        return complete_text(
            partial(self._complete, json_mode=False),
            aggregate_messages(node_text, new_text, n),
            task="aggregate",
        )

    def refine_query(self, question: str, retrieved: Sequence[str]) -> str:
        """The question followed by the model's thought (ALGORITHMS.md §4.2)."""
        if not retrieved:
            return question
        thought = complete_text(
            partial(self._complete, json_mode=False),
            refine_query_messages(question, retrieved),
            task="refine_query",
        )
        return f"{question} {thought}"
