"""Model output parsed into validated pydantic models, with one repair retry.

Models wrap JSON in prose or code fences, forget a field, or invent an id. :func:`complete_json`
extracts the JSON object, validates it (plus an optional semantic check such as "target_id
names one of the neighbours"), and when that fails asks the model once to fix its answer
(:func:`memsvc.llm.prompts.repair_messages`). A second failure raises
:class:`~memsvc.errors.LLMOutputInvalid`. Error messages describe the problem (field, type), never
the text, because they reach clients and logs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from memsvc.errors import LLMOutputInvalid
from memsvc.llm.prompts import REPAIR_JSON, REPAIR_TEXT, ChatMessage, repair_messages
from memsvc.types import DecisionOp

__all__ = [
    "Complete",
    "DecisionOutput",
    "ExtractedFact",
    "FactsOutput",
    "OutputProblem",
    "complete_json",
    "complete_text",
    "parse_json",
    "parse_text",
]

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

#: Sends chat messages to a model and returns the text of its answer.
Complete = Callable[[Sequence[ChatMessage]], str]

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_LABEL = re.compile(r"^\s*(?:\[?output summary\]?|summary|thought|answer|query)\s*:\s*", re.I)


class OutputProblem(ValueError):
    """The output does not parse or validate; the message says why without quoting it."""


class ExtractedFact(BaseModel):
    """One fact as a model writes it."""

    text: str = Field(min_length=3, max_length=1000)
    source_ids: list[int] = Field(default_factory=list)
    subject: str | None = Field(default=None, max_length=200)
    predicate: str | None = Field(default=None, max_length=100)
    object: str | None = Field(default=None, max_length=300)
    value_type: str | None = Field(default=None, max_length=20)
    negated: bool = False
    happened_at: str | None = Field(default=None, max_length=40)
    importance: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) < 3:
            raise ValueError("fact text is empty")
        return value


class FactsOutput(BaseModel):
    """The fact-extraction answer."""

    facts: list[ExtractedFact] = Field(max_length=500)


class DecisionOutput(BaseModel):
    """The update-decision answer."""

    op: DecisionOp
    target_id: int | None = None
    text: str | None = Field(default=None, max_length=1000)
    reason: str = Field(default="", max_length=2000)

    @field_validator("op", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def _json_span(text: str) -> str:
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        raise OutputProblem("no JSON object found")
    start = min(starts)
    end = max(text.rfind("}"), text.rfind("]"))
    if end <= start:
        raise OutputProblem("the JSON object is not closed")
    return text[start : end + 1]


def _describe(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)[:5]
    ]
    return "; ".join(problems)


def parse_json(text: str, model: type[T]) -> T:
    """The first JSON value in ``text`` validated as ``model``.

    A bare list is accepted for a model with a single list field (``[...]`` for
    ``{"facts": [...]}``), since models often drop the wrapper.

    Raises:
        OutputProblem: no JSON, invalid JSON, or it does not validate.
    """
    span = _json_span(text)
    try:
        value = json.loads(span)
    except json.JSONDecodeError as exc:
        raise OutputProblem(f"invalid JSON ({exc.msg} at line {exc.lineno})") from None
    fields = list(model.model_fields)
    if isinstance(value, list) and len(fields) == 1:
        value = {fields[0]: value}
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise OutputProblem(_describe(exc)) from None


def parse_text(text: str) -> str:
    """A plain-text answer without a leading label ("Summary:") or surrounding quotes.

    Raises:
        OutputProblem: the answer is empty.
    """
    value = _LABEL.sub("", text.strip()).strip().strip('"').strip()
    if not value:
        raise OutputProblem("the answer is empty")
    return value


def _with_repair(
    complete: Complete,
    messages: Sequence[ChatMessage],
    parse: Callable[[str], T],
    *,
    task: str,
    expect: str,
) -> T:
    output = complete(messages)
    try:
        return parse(output)
    except OutputProblem as problem:
        logger.warning("%s: model output invalid (%s); one repair retry", task, problem)
        repaired = complete(repair_messages(messages, output, str(problem), expect=expect))
        try:
            return parse(repaired)
        except OutputProblem as again:
            raise LLMOutputInvalid(
                f"the model's {task} output is invalid after a repair retry: {again}",
                detail={"task": task},
            ) from None


def complete_json(
    complete: Complete,
    messages: Sequence[ChatMessage],
    model: type[T],
    *,
    task: str,
    check: Callable[[T], None] | None = None,
) -> T:
    """Ask, parse as ``model``, run ``check`` (raises :class:`OutputProblem`); repair once.

    Raises:
        LLMOutputInvalid: still invalid after the repair retry.
        LLMError: the provider failed (raised by ``complete``).
    """

    def parse(text: str) -> T:
        result = parse_json(text, model)
        if check is not None:
            check(result)
        return result

    return _with_repair(complete, messages, parse, task=task, expect=REPAIR_JSON)


class _Text(BaseModel):
    value: str


def complete_text(complete: Complete, messages: Sequence[ChatMessage], *, task: str) -> str:
    """Ask for plain text; an empty answer is retried once, then :class:`LLMOutputInvalid`."""
    result = _with_repair(
        complete, messages, lambda t: _Text(value=parse_text(t)), task=task, expect=REPAIR_TEXT
    )
    return result.value
