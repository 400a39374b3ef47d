"""The read side beyond single memories: ``/v1/search``, episodes, the MemTree and the profile."""

from __future__ import annotations

import functools
from typing import Annotated

import anyio
from fastapi import APIRouter, Query

from memsvc.api.auth import Caller
from memsvc.api.deps import ApiStateDep, CallerDep, ServiceDep
from memsvc.api.errors import ERROR_RESPONSES
from memsvc.schemas import MemoryList, ProfileResponse, SearchRequestBody, SearchResponse
from memsvc.service.facade import MemoryService
from memsvc.types import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)

ScopeParam = Annotated[str | None, Query(max_length=128, description="Scope key.")]


@router.post("/search", summary="Search memories")
async def search(
    body: SearchRequestBody, caller: CallerDep, service: ServiceDep, state: ApiStateDep
) -> SearchResponse:
    """The memories that matter for ``query``, best first, with provenance and validity.

    Hybrid (dense + BM25) iterative retrieval over facts, events, episodes, summaries and tree
    nodes. ``as_of`` answers with what was true then; ``context_tokens`` also returns a
    ready-to-use context string within that budget.
    """
    # At most api.search_concurrency searches run at once, the others queue in arrival order:
    # run together, CPU-bound searches share one interpreter lock and all finish late.
    run = functools.partial(_search, body, caller, service)
    return await anyio.to_thread.run_sync(run, limiter=state.search_slots)


def _search(body: SearchRequestBody, caller: Caller, service: MemoryService) -> SearchResponse:
    result = service.search(
        body.query,
        scope=Scope(body.user_id, body.agent_id, body.session_id),
        namespace=caller.namespace,
        top_k=body.top_k,
        kinds=body.kinds,
        as_of=body.as_of,
        include_inactive=body.include_inactive,
        metadata=body.filters,
        rounds=body.rounds,
        context_tokens=body.context_tokens,
    )
    return SearchResponse.from_result(result)


@router.get("/episodes", summary="A scope's episodes")
def episodes(
    caller: CallerDep,
    service: ServiceDep,
    user_id: ScopeParam = None,
    agent_id: ScopeParam = None,
    session_id: ScopeParam = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MemoryList:
    """Episodes (runs of events cut by surprise), newest first."""
    records = service.episodes(
        scope=Scope(user_id, agent_id, session_id), limit=limit, namespace=caller.namespace
    )
    return MemoryList.from_records(records)


@router.get("/tree", summary="A scope's MemTree")
def tree(
    caller: CallerDep,
    service: ServiceDep,
    user_id: ScopeParam = None,
    agent_id: ScopeParam = None,
    session_id: ScopeParam = None,
) -> MemoryList:
    """MemTree nodes depth-first, root first; ``attributes.parent_id`` and ``depth`` give shape."""
    records = service.tree(scope=Scope(user_id, agent_id, session_id), namespace=caller.namespace)
    return MemoryList.from_records(records)


@router.get("/profile", summary="A scope's profile")
def profile(
    caller: CallerDep,
    service: ServiceDep,
    user_id: ScopeParam = None,
    agent_id: ScopeParam = None,
    session_id: ScopeParam = None,
) -> ProfileResponse:
    """The profile summary consolidation built for the scope (``null`` until then)."""
    record = service.profile(scope=Scope(user_id, agent_id, session_id), namespace=caller.namespace)
    return ProfileResponse.from_record(record)
