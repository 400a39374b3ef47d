"""Parsing model output into validated models, and the one repair retry."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from memsvc.errors import LLMOutputInvalid
from memsvc.llm.prompts import ChatMessage
from memsvc.llm.structured import (
    DecisionOutput,
    FactsOutput,
    OutputProblem,
    complete_json,
    complete_text,
    parse_json,
    parse_text,
)
from memsvc.types import DecisionOp


def test_parse_json_reads_a_fenced_object_inside_prose() -> None:
    text = 'Sure! Here it is:\n```json\n{"facts": [{"text": "Ann lives in Oslo."}]}\n```\nDone.'
    assert parse_json(text, FactsOutput).facts[0].text == "Ann lives in Oslo."


def test_parse_json_accepts_a_bare_list_for_a_single_list_field() -> None:
    out = parse_json('[{"text": "Ann lives in Oslo.", "source_ids": [3]}]', FactsOutput)
    assert out.facts[0].source_ids == [3]


def test_parse_json_normalises_the_decision_op() -> None:
    out = parse_json('{"op": " INVALIDATE ", "target_id": 4, "reason": "moved"}', DecisionOutput)
    assert (out.op, out.target_id) == (DecisionOp.INVALIDATE, 4)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no json here", "no JSON object found"),
        ('{"facts": [{"text": "Ann lives in Oslo."}', "invalid JSON"),
        ('{"facts": [{"text": "secret user text", "importance": 7}]}', "facts.0.importance"),
        ('{"op": "delete", "target_id": 1}', "op"),
    ],
)
def test_parse_json_problems_say_what_is_wrong_without_quoting(text: str, problem: str) -> None:
    model = DecisionOutput if '"op"' in text else FactsOutput
    with pytest.raises(OutputProblem) as caught:
        parse_json(text, model)
    assert problem in str(caught.value)
    assert "secret user text" not in str(caught.value)


def test_parse_text_drops_labels_and_quotes() -> None:
    assert parse_text('  Summary: "Ann moved to Oslo."  ') == "Ann moved to Oslo."
    with pytest.raises(OutputProblem):
        parse_text("  \n ")


class _Script:
    """A completion function answering from a list (a boundary fake: no mock library)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.seen: list[list[ChatMessage]] = []

    def __call__(self, messages: Sequence[ChatMessage]) -> str:
        self.seen.append(list(messages))
        return self.answers.pop(0)


def test_complete_json_repairs_once() -> None:
    script = _Script("not json", '{"facts": []}')
    messages: list[ChatMessage] = [{"role": "user", "content": "extract"}]
    assert complete_json(script, messages, FactsOutput, task="extract_facts").facts == []
    repair = script.seen[1]
    assert repair[:1] == messages
    assert repair[1] == {"role": "assistant", "content": "not json"}
    assert "no JSON object found" in repair[2]["content"]


def test_complete_json_gives_up_after_the_repair() -> None:
    script = _Script("not json", "still not json", '{"facts": []}')
    with pytest.raises(LLMOutputInvalid) as caught:
        complete_json(script, [], FactsOutput, task="extract_facts")
    assert caught.value.detail == {"task": "extract_facts"}
    assert len(script.answers) == 1  # exactly two calls


def test_complete_json_runs_the_semantic_check_before_accepting() -> None:
    def check(answer: DecisionOutput) -> None:
        if answer.target_id != 2:
            raise OutputProblem("target_id must be one of [2]")

    script = _Script('{"op": "merge", "target_id": 9}', '{"op": "merge", "target_id": 2}')
    assert complete_json(script, [], DecisionOutput, task="decide", check=check).target_id == 2
    assert "target_id must be one of [2]" in script.seen[1][-1]["content"]


def test_complete_text_retries_an_empty_answer_as_plain_text() -> None:
    script = _Script("", "A summary.")
    assert complete_text(script, [], task="summarize") == "A summary."
    assert "plain text" in script.seen[1][-1]["content"]
