"""``POST /v1/answer``: retrieve from the caller's memories, then read them in the model."""

from __future__ import annotations

import functools

import anyio
from fastapi import APIRouter

from memsvc.answering import AnswerRequestBody, AnswerResponse, answer
from memsvc.api.auth import Caller
from memsvc.api.deps import ApiStateDep, CallerDep, ServiceDep
from memsvc.api.errors import ERROR_RESPONSES
from memsvc.service.facade import MemoryService
from memsvc.types import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["answer"], responses=ERROR_RESPONSES)


@router.post("/answer", summary="Answer a question from memories")
async def answer_route(
    body: AnswerRequestBody, caller: CallerDep, service: ServiceDep, state: ApiStateDep
) -> AnswerResponse:
    """Search the scope for the question, then answer with the reader model reading the
    retrieved memories (``reader.mode``: their precomputed keys/values by default), with the
    memories the answer attended to most as citations. Runs in the search slots, one model
    call at a time."""
    run = functools.partial(_answer, body, caller, service)
    return await anyio.to_thread.run_sync(run, limiter=state.search_slots)


def _answer(body: AnswerRequestBody, caller: Caller, service: MemoryService) -> AnswerResponse:
    return answer(
        service,
        body.question,
        scope=Scope(body.user_id, body.agent_id, body.session_id),
        namespace=caller.namespace,
        memories=body.memories,
        mode=body.mode,
    )
