"""LiteLLMTasks against a real OpenAI-compatible HTTP server on 127.0.0.1 (no patching)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
from openai_stub import Reply, serve
from pydantic import SecretStr

from memsvc.config import LLMSettings
from memsvc.errors import LLMError, LLMOutputInvalid, LLMTimeout
from memsvc.llm.litellm import LiteLLMTasks, import_litellm
from memsvc.types import DecisionOp, FactCandidate, KnownFact, SummaryKind, Turn

KEY = "sk-test-do-not-log-4242"
AT = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
TURNS = [
    Turn(11, "Caroline", "user", "I went to a LGBTQ support group yesterday.", AT),
    Turn(12, "Melanie", "user", "Wow, that's cool!", AT),
]


def _tasks(base_url: str, **overrides: object) -> LiteLLMTasks:
    values: dict[str, object] = {
        "backend": "litellm",
        "model": "openai/stub-model",
        "api_base": base_url,
        "api_key": SecretStr(KEY),
        "timeout_s": 5.0,
        "max_retries": 0,
    }
    values.update(overrides)
    return LiteLLMTasks(LLMSettings(**values), backoff_s=0.01)  # type: ignore[arg-type]


def _facts_json(*facts: dict[str, object]) -> str:
    return json.dumps({"facts": list(facts)})


def test_litellm_extract_facts_parses_the_json_answer() -> None:
    answer = _facts_json(
        {
            "text": "Caroline went to a LGBTQ support group on 7 May 2023.",
            "source_ids": [11, 99],
            "subject": "Caroline",
            "predicate": "went_to",
            "object": "LGBTQ support group",
            "importance": 0.7,
        },
    )
    with serve(Reply(answer)) as server:
        facts = _tasks(server.base_url).extract_facts(TURNS)
    assert len(facts) == 1
    assert facts[0].text == "Caroline went to a LGBTQ support group on 7 May 2023."
    assert facts[0].source_event_ids == (11,)  # the unknown id 99 is dropped
    assert (facts[0].predicate, facts[0].importance) == ("went_to", 0.7)
    sent = server.requests[0]
    assert sent["model"] == "stub-model"
    assert sent["response_format"] == {"type": "json_object"}
    assert "[id=11] 2023-05-08 13:56 (Monday) Caroline:" in sent["messages"][1]["content"]


def test_litellm_call_leaves_no_event_loop_on_the_calling_thread() -> None:
    # litellm's blocking API creates a loop on the main thread and never closes it; a later
    # asyncio.run would then drop it unclosed (a ResourceWarning in the user's program).
    policy = asyncio.get_event_loop_policy()
    with serve(Reply(_facts_json())) as server:
        _tasks(server.base_url).extract_facts(TURNS)
    assert getattr(policy._local, "_loop", None) is None  # type: ignore[attr-defined]


def test_litellm_call_keeps_the_callers_own_event_loop() -> None:
    policy = asyncio.get_event_loop_policy()
    loop = asyncio.new_event_loop()
    policy.set_event_loop(loop)
    try:
        with serve(Reply(_facts_json())) as server:
            _tasks(server.base_url).extract_facts(TURNS)
        assert policy.get_event_loop() is loop
        assert not loop.is_closed()
    finally:
        policy.set_event_loop(None)
        loop.close()


def test_litellm_repairs_malformed_json_once() -> None:
    with serve(Reply("Here are the facts: {facts: [oops"), Reply(_facts_json())) as server:
        assert _tasks(server.base_url).extract_facts(TURNS) == []
    assert len(server.requests) == 2
    repair = server.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Here are the facts: {facts: [oops"}
    assert "not valid" in repair[-1]["content"]


def test_litellm_malformed_twice_is_llm_output_invalid() -> None:
    with (
        serve(Reply("nope"), Reply('{"facts": "nope"}')) as server,
        pytest.raises(LLMOutputInvalid) as caught,
    ):
        _tasks(server.base_url).extract_facts(TURNS)
    assert caught.value.code == "llm_output_invalid"
    assert len(server.requests) == 2


def test_litellm_decide_repairs_an_unknown_target() -> None:
    neighbour = KnownFact(id=5, text="Alice lives in Berlin.", valid_from=AT, similarity=0.9)
    candidate = FactCandidate("Alice lives in Paris.", (1,), AT)
    with serve(
        Reply('{"op": "invalidate", "target_id": 77, "reason": "moved"}'),
        Reply('{"op": "invalidate", "target_id": 5, "reason": "moved"}'),
    ) as server:
        decision = _tasks(server.base_url).decide(candidate, [neighbour])
    assert (decision.op, decision.target_id, decision.reason) == (DecisionOp.INVALIDATE, 5, "moved")
    assert "target_id must be one of [5]" in server.requests[1]["messages"][-1]["content"]


def test_litellm_text_tasks_and_usage_accounting() -> None:
    with serve(
        Reply("Caroline went to a support group.", prompt_tokens=30, completion_tokens=8),
        Reply("The group met in May.", prompt_tokens=20, completion_tokens=6),
        Reply("Look for the date of the meeting."),
    ) as server:
        tasks = _tasks(server.base_url)
        assert (
            tasks.summarize(["a", "b"], SummaryKind.SESSION) == "Caroline went to a support group."
        )
        assert (
            tasks.aggregate("Caroline likes groups.", "It met in May.", 3)
            == "The group met in May."
        )
        refined = tasks.refine_query("When?", ["Caroline went to a group."])
    assert refined == "When? Look for the date of the meeting."
    assert (
        "[Existing Information (from 3 previous entries)]"
        in (server.requests[1]["messages"][0]["content"])
    )
    assert (tasks.usage.calls, tasks.usage.prompt_tokens, tasks.usage.completion_tokens) == (
        3,
        61,
        21,
    )
    assert tasks.usage.failures == 0


def test_litellm_slow_answer_is_llm_timeout() -> None:
    with serve(Reply("late", delay_s=3.0)) as server:
        tasks = _tasks(server.base_url, timeout_s=0.5)
        with pytest.raises(LLMTimeout) as caught:
            tasks.summarize(["a"], SummaryKind.DAY)
    assert caught.value.detail["model"] == "openai/stub-model"
    assert tasks.usage.failures == 1


def test_litellm_server_error_is_retried_with_backoff() -> None:
    with serve(Reply("overloaded", status=500), Reply("fine")) as server:
        tasks = _tasks(server.base_url, max_retries=2)
        assert tasks.summarize(["a"], SummaryKind.DAY) == "fine"
    assert len(server.requests) == 2
    assert (tasks.usage.failures, tasks.usage.calls) == (1, 1)


def test_litellm_persistent_server_error_is_llm_error_with_the_providers_message() -> None:
    with (
        serve(Reply("the backend exploded", status=500)) as server,
        pytest.raises(LLMError) as caught,
    ):
        _tasks(server.base_url, max_retries=1).summarize(["a"], SummaryKind.DAY)
    assert type(caught.value) is LLMError
    assert "the backend exploded" in caught.value.message
    assert caught.value.detail["provider_status"] == 500
    assert caught.value.detail["attempts"] == 2


def test_litellm_auth_error_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        serve(Reply(f"Incorrect API key provided: {KEY}", status=401)) as server,
        pytest.raises(LLMError) as caught,
    ):
        _tasks(server.base_url, max_retries=3).summarize(["a"], SummaryKind.DAY)
    assert len(server.requests) == 1
    assert caught.value.detail["provider_status"] == 401
    assert "Incorrect API key provided: ***" in caught.value.message
    assert KEY not in caught.value.message
    assert KEY not in caplog.text
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"


def test_litellm_concurrency_limit_holds_across_threads() -> None:
    with serve(Reply("ok", delay_s=0.3)) as server:
        tasks = _tasks(server.base_url, max_concurrency=2)
        threads = [
            threading.Thread(target=tasks.summarize, args=(["a"], SummaryKind.DAY))
            for _ in range(5)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(server.requests) == 5
    assert server.max_active == 2
    assert tasks.usage.calls == 5


def test_litellm_module_import_is_light() -> None:
    code = "import sys, memsvc.llm.litellm; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], timeout=120, check=True)


def test_import_litellm_reads_the_packaged_cost_map() -> None:
    litellm = import_litellm()
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert "gpt-4o-mini" in litellm.model_cost  # the map shipped in the package, no fetch
