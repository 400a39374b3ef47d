"""``memsvc answer QUESTION``: retrieve, then read the memories in the reader model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.options import scope_kwargs, scope_options
from memsvc.cli.output import console, emit_json, json_option
from memsvc.types import Scope

if TYPE_CHECKING:
    from memsvc.answering import AnswerResponse

__all__ = ["answer_command"]

_MODES = click.Choice(["kv", "attention", "inject", "prompt", "none"])


@click.command("answer")
@click.argument("question")
@scope_options
@click.option("--memories", type=click.IntRange(1, 200), help="Memories to retrieve and read.")
@click.option("--mode", type=_MODES, help="Reader mode (default: reader.mode).")
@json_option
@pass_state
def answer_command(
    state: CliState,
    question: str,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    memories: int | None,
    mode: str | None,
    as_json: bool,
) -> None:
    """Answer QUESTION from a scope's memories, with the memories it attended to."""
    if state.is_remote:
        result = _remote(state, question, user_id, agent_id, session_id, memories, mode)
    else:
        from memsvc.answering import answer

        result = answer(
            state.service(command="answer"),
            question,
            scope=Scope(**scope_kwargs(user_id, agent_id, session_id)),
            namespace=state.namespace,
            memories=memories,
            mode=mode,  # type: ignore[arg-type]
        )
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    out = console()
    out.print(result.answer, markup=False)
    for c in result.citations:
        out.print(f"  [{c.weight:.2f}] {c.memory_id}: {c.content}", markup=False)
    out.print(f"{result.mode}: first token {result.ttft_ms:.0f} ms, all {result.took_ms:.0f} ms")


def _remote(
    state: CliState,
    question: str,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    memories: int | None,
    mode: str | None,
) -> AnswerResponse:
    import httpx

    from memsvc.answering import AnswerResponse
    from memsvc.errors import MemsvcError, error_class_for_code

    headers = {"X-API-Key": state.api_key} if state.api_key else {}
    body = {
        "question": question,
        "user_id": user_id,
        "agent_id": agent_id,
        "session_id": session_id,
        "memories": memories,
        "mode": mode,
    }
    url = f"{str(state.url).rstrip('/')}/v1/answer"
    try:
        reply = httpx.post(url, json=body, headers=headers, timeout=300)
    except httpx.HTTPError as exc:
        raise MemsvcError(f"cannot reach {url}: {exc}") from exc
    if reply.status_code >= 400:
        error = reply.json().get("error", {}) if reply.content else {}
        cls = error_class_for_code(str(error.get("code", "")))
        raise cls(str(error.get("message", f"HTTP {reply.status_code}")))
    return AnswerResponse.model_validate(reply.json())
