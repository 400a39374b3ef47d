"""``/v1/memories``: add, list, get, update, delete, erase a scope, history.

Handlers are plain ``def``: the service is synchronous and runs in FastAPI's threadpool. Every
call is confined to the caller's namespace, so another tenant's id answers 404.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from memsvc.api.deps import CallerDep, ServiceDep
from memsvc.api.errors import ERROR_RESPONSES
from memsvc.errors import InvalidQuery, MemoryNotFound
from memsvc.schemas import (
    AddResponse,
    DeleteAllResponse,
    HistoryEntryPublic,
    HistoryList,
    MemoryCreate,
    MemoryPage,
    MemoryPublic,
    MemoryUpdate,
)
from memsvc.types import MemoryKind, Scope

__all__ = ["checked_id", "parse_filters", "router"]

router = APIRouter(prefix="/v1/memories", tags=["memories"], responses=ERROR_RESPONSES)

ScopeParam = Annotated[str | None, Query(max_length=128, description="Scope key.")]


_MAX_ROW_ID = 2**63 - 1


def checked_id(memory_id: str) -> str:
    """``memory_id``, or MemoryNotFound when its number cannot be a database id.

    A number past int64 can never name a stored row; rejecting it here keeps the database
    driver from failing on it (a 500) and answers it like any other unknown id.
    """
    _, _, tail = memory_id.rpartition("_")
    if tail.isdigit() and len(tail) > 18 and int(tail) > _MAX_ROW_ID:
        raise MemoryNotFound("no memory with this id", detail={"id": memory_id[:80]})
    return memory_id


def parse_filters(raw: str | None) -> dict[str, Any] | None:
    """Metadata equality filters given as a JSON object in a query parameter."""
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidQuery("filters must be a JSON object", detail={"field": "filters"}) from None
    if not isinstance(value, dict):
        raise InvalidQuery("filters must be a JSON object", detail={"field": "filters"})
    return value


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Remember messages",
    response_description="The stored events (searchable now) and the consolidation job queued.",
)
def add_memories(body: MemoryCreate, caller: CallerDep, service: ServiceDep) -> AddResponse:
    """Store messages as events. They are searchable as soon as this answers; facts, episodes,
    summaries and the tree are derived afterwards by the consolidation job named in ``job_id``.
    """
    result = service.add(
        body.messages_as_input(),
        scope=Scope(body.user_id, body.agent_id, body.session_id),
        metadata=body.metadata,
        occurred_at=body.occurred_at,
        namespace=caller.namespace,
    )
    return AddResponse.from_result(result)


@router.get("", summary="List a scope's memories")
def list_memories(
    caller: CallerDep,
    service: ServiceDep,
    user_id: ScopeParam = None,
    agent_id: ScopeParam = None,
    session_id: ScopeParam = None,
    kinds: Annotated[list[MemoryKind] | None, Query(max_length=5)] = None,
    include_inactive: bool = False,
    filters: Annotated[
        str | None,
        Query(max_length=16_384, description='Metadata filters as JSON, e.g. {"topic":"work"}.'),
    ] = None,
    cursor: Annotated[
        str | None, Query(pattern=r"^\d{1,18}\.\d{1,18}$", description="next_cursor of a page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MemoryPage:
    """A page of memories (facts and events unless ``kinds`` says otherwise); pass
    ``next_cursor`` back as ``cursor`` for the next page."""
    page = service.get_all(
        scope=Scope(user_id, agent_id, session_id),
        kinds=kinds,
        include_inactive=include_inactive,
        metadata=parse_filters(filters),
        cursor=cursor,
        limit=limit,
        namespace=caller.namespace,
    )
    return MemoryPage.from_page(page)


@router.delete("", summary="Erase every memory of a scope")
def delete_scope(
    caller: CallerDep,
    service: ServiceDep,
    user_id: ScopeParam = None,
    agent_id: ScopeParam = None,
    session_id: ScopeParam = None,
    purge: bool = False,
    verify: bool = False,
) -> DeleteAllResponse:
    """Erase everything whose lineage lies in a scope (every kind, with history); counts per store.

    Memories derived also from outside the scope are recomputed from the rest. ``purge=true``
    (erasure on request) also leaves no byte of the erased text in any store (embedding cache,
    index files, database pages); ``verify=true`` scans every store for it afterwards.
    """
    counts = service.erase(
        scope=Scope(user_id, agent_id, session_id),
        purge=purge,
        verify=verify,
        namespace=caller.namespace,
    )
    return DeleteAllResponse(deleted=int(counts["memories"]), counts=counts)


@router.get("/{memory_id}", summary="Get one memory")
def get_memory(memory_id: str, caller: CallerDep, service: ServiceDep) -> MemoryPublic:
    """One memory by id (404 ``memory_not_found`` when unknown or another tenant's)."""
    return MemoryPublic.from_record(service.get(checked_id(memory_id), namespace=caller.namespace))


@router.patch("/{memory_id}", summary="Update a memory")
def update_memory(
    memory_id: str, body: MemoryUpdate, caller: CallerDep, service: ServiceDep
) -> MemoryPublic:
    """Change a memory's text and/or metadata; the change is recorded in its history."""
    record = service.update(
        checked_id(memory_id),
        content=body.content,
        metadata=body.metadata,
        namespace=caller.namespace,
        actor="api",
    )
    return MemoryPublic.from_record(record)


@router.delete(
    "/{memory_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a memory",
)
def delete_memory(
    memory_id: str,
    caller: CallerDep,
    service: ServiceDep,
    erase_history: bool = False,
) -> None:
    """Delete one memory everywhere; ``erase_history=true`` removes its history too."""
    service.delete(
        checked_id(memory_id), erase_history=erase_history, namespace=caller.namespace, actor="api"
    )


@router.get("/{memory_id}/history", summary="A memory's history")
def memory_history(memory_id: str, caller: CallerDep, service: ServiceDep) -> HistoryList:
    """Every recorded change of a memory, oldest first (also after it was deleted)."""
    entries = service.history(checked_id(memory_id), namespace=caller.namespace)
    return HistoryList(items=[HistoryEntryPublic.from_entry(e) for e in entries])
