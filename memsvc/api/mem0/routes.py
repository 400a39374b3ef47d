"""mem0's REST surface on memsvc: the paths, auth and bodies mem0's own clients use.

``mem0ai.MemoryClient(api_key=..., host="http://127.0.0.1:8765")`` (Python) and
``new MemoryClient({apiKey, host})`` (TypeScript) work against ``memsvc serve`` unchanged: they
send ``Authorization: Token <key>`` (a memsvc API key; its namespace confines every call), ping
``/v1/ping/``, add through ``/v3/memories/add/``, search and list through ``/v3/memories/...``
with mem0's ``filters``, and read, change and delete through trailing-slash ``/v1/...`` paths.
mem0's ``user_id``, ``agent_id`` and ``run_id`` are memsvc's user, agent and session;
``app_id`` is kept in metadata. What memsvc cannot do is answered with mem0's error shape and a
message that says so. ``api.mem0_compat=false`` leaves these routes out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Depends, Query, Request

from memsvc.api.auth import Caller
from memsvc.api.deps import ApiStateDep, CallerDep, ServiceDep, get_caller
from memsvc.api.errors import ERROR_RESPONSES
from memsvc.api.mem0.errors import MEM0_RESPONSES, Mem0Route, Unsupported, mem0_error
from memsvc.api.mem0.filters import Branch, branches_from, scope_of
from memsvc.api.mem0.shapes import (
    APP_KEY,
    AddBody,
    BatchDeleteBody,
    BatchUpdateBody,
    ListBody,
    SearchBody,
    UpdateBody,
    history_items,
    memory_dict,
    refuse_set,
)
from memsvc.api.routes.memories import checked_id
from memsvc.errors import InvalidContent, InvalidQuery, MemoryNotFound
from memsvc.service.facade import MemoryService
from memsvc.types import Hit, MemoryRecord, Scope

__all__ = ["router"]

# The body-size limit answers before any route runs, in memsvc's own error shape.
_TOO_LARGE = ERROR_RESPONSES[413]

router = APIRouter(
    tags=["mem0 compatibility"],
    route_class=Mem0Route,
    responses={**MEM0_RESPONSES, 413: _TOO_LARGE},
)

_ENTITY_SCOPE = {"user": "user_id", "agent": "agent_id", "run": "session_id"}
_ADD_REFUSED = {
    "expiration_date": "memories do not expire; decay marks unused facts forgotten instead",
    "custom_categories": "memsvc does not categorise memories",
    "custom_instructions": "fact extraction follows memsvc's own rules (llm settings)",
    "agent_custom_instructions": "fact extraction follows memsvc's own rules (llm settings)",
    "structured_data_schema": "memsvc stores text memories",
    "enable_graph": "memsvc has no graph store on this surface",
    "immutable": "every memory can be updated",
}
_SEARCH_REFUSED = {
    "categories": "memsvc does not categorise memories",
    "reference_date": "time expressions are read relative to the conversation's own time",
}
_LIST_REFUSED = {"categories": "memsvc does not categorise memories"}
_UPDATE_REFUSED = {
    "timestamp": "a memory's time is when it happened and stays as recorded",
    "expiration_date": "memories do not expire",
}
_UNSUPPORTED_PATHS: tuple[tuple[str, str, str], ...] = (
    ("POST", "/v1/exports/", "memory exports (use `memsvc export`)"),
    ("POST", "/v1/exports/get/", "memory exports (use `memsvc export`)"),
    ("POST", "/v1/summary/", "export summaries"),
    ("POST", "/v1/feedback/", "feedback"),
    ("GET", "/v1/event/{event_id}/", "events: adds are stored and searchable when they answer"),
    ("GET", "/v2/profiles/settings/", "profile settings"),
    ("POST", "/v2/profiles/settings/", "profile settings"),
    ("POST", "/v2/profiles/jobs/", "profile jobs (consolidation builds profiles)"),
    ("GET", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/", "projects"),
    ("PATCH", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/", "projects"),
    ("GET", "/api/v1/webhooks/projects/{project_id}/", "webhooks"),
    ("POST", "/api/v1/webhooks/projects/{project_id}/", "webhooks"),
)
_PAGE_READ = 1000


# -- identity ------------------------------------------------------------------------------


@router.get("/v1/ping/", summary="mem0: check the API key")
def ping(caller: CallerDep) -> dict[str, Any]:
    """mem0's key check: ``status: ok`` for a valid memsvc API key.

    mem0's Python client needs an organisation and a project to exist: both are the key's
    namespace (the project routes themselves answer 501).
    """
    return {
        "status": "ok",
        "message": "API key is valid",
        "org_id": caller.namespace,
        "project_id": caller.namespace,
        "user_email": None,
        "namespace": caller.namespace,
    }


# -- write ---------------------------------------------------------------------------------


@router.post("/v3/memories/add/", summary="mem0: add memories")
def add(body: AddBody, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    """Store messages as events: searchable when this answers; facts follow in the background.

    ``status`` is ``SUCCEEDED`` (not mem0's ``PENDING``): the messages are already stored and
    indexed; ``event_id`` is the consolidation job that derives facts from them.
    """
    refuse_set(body, _ADD_REFUSED)
    keys = _add_keys(body)
    scope = scope_of(
        {"user_id": keys["user_id"], "agent_id": keys["agent_id"], "session_id": keys["run_id"]}
    )
    metadata = dict(body.metadata or {})
    if keys["app_id"] is not None:
        metadata[APP_KEY] = keys["app_id"]
    occurred_at = (
        datetime.fromtimestamp(body.timestamp, UTC) if body.timestamp is not None else None
    )
    result = service.add(
        _messages(body.messages),
        scope=scope,
        metadata=metadata or None,
        occurred_at=occurred_at,
        namespace=caller.namespace,
    )
    return {
        "message": "Memories stored and searchable; consolidation queued",
        "status": "SUCCEEDED",
        "event_id": str(result.job_id) if result.job_id is not None else None,
        "results": [
            memory_dict(r) | {"event": "ADD", "data": {"memory": r.content}} for r in result.events
        ],
    }


@router.put("/v1/memories/{memory_id}/", summary="mem0: update a memory")
def update(
    memory_id: str, body: UpdateBody, caller: CallerDep, service: ServiceDep
) -> dict[str, Any]:
    """Change a memory's text and/or metadata (recorded in its history)."""
    refuse_set(body, _UPDATE_REFUSED)
    record = _update(service, caller, checked_id(memory_id), body.text, body.metadata)
    return memory_dict(record)


@router.delete("/v1/memories/{memory_id}/", summary="mem0: delete a memory")
def delete(
    memory_id: str, caller: CallerDep, service: ServiceDep, delete_linked: bool = False
) -> dict[str, Any]:
    """Delete one memory from SQL and every index (its history keeps the deletion)."""
    if delete_linked:
        raise Unsupported(
            "delete_linked is not supported by memsvc: delete the superseded facts by id "
            "(history names them)",
            detail={"field": "delete_linked"},
        )
    service.delete(checked_id(memory_id), namespace=caller.namespace, actor="api")
    return {"message": "Memory deleted successfully!"}


@router.delete("/v1/memories/", summary="mem0: delete every memory of a scope")
def delete_all(
    caller: CallerDep,
    service: ServiceDep,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    app_id: str | None = None,
) -> dict[str, Any]:
    """Erase every memory (all kinds, with history) of the scope the parameters name."""
    if app_id is not None:
        raise Unsupported(
            "deleting by app_id is not supported by memsvc: give user_id, agent_id or run_id",
            detail={"field": "app_id"},
        )
    scope = scope_of({"user_id": user_id, "agent_id": agent_id, "session_id": run_id})
    deleted = service.delete_all(scope=scope, namespace=caller.namespace)
    return {"message": "Memories deleted successfully!", "deleted": deleted}


@router.put("/v1/batch/", summary="mem0: update many memories")
def batch_update(body: BatchUpdateBody, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    """Update up to 1,000 memories; every id is checked before the first one changes."""
    ids = [checked_id(m.memory_id) for m in body.memories]
    for memory_id in ids:
        service.get(memory_id, namespace=caller.namespace)
    for memory_id, item in zip(ids, body.memories, strict=True):
        _update(service, caller, memory_id, item.text, item.metadata)
    return {"message": f"Successfully updated {len(ids)} memories"}


@router.delete("/v1/batch/", summary="mem0: delete many memories")
def batch_delete(
    body: Annotated[BatchDeleteBody, Body()], caller: CallerDep, service: ServiceDep
) -> dict[str, Any]:
    """Delete up to 1,000 memories; every id is checked before the first one goes."""
    ids = [checked_id(m.memory_id) for m in body.memories]
    for memory_id in ids:
        service.get(memory_id, namespace=caller.namespace)
    for memory_id in ids:
        service.delete(memory_id, namespace=caller.namespace, actor="api")
    return {"message": f"Successfully deleted {len(ids)} memories"}


# -- read ----------------------------------------------------------------------------------


@router.post("/v3/memories/search/", summary="mem0: search memories")
async def search(
    body: SearchBody, caller: CallerDep, service: ServiceDep, state: ApiStateDep
) -> dict[str, Any]:
    """memsvc's hybrid search, within the scopes ``filters`` names; ``{"results": [...]}``."""
    refuse_set(body, _SEARCH_REFUSED)
    branches = branches_from(body.filters, extra_metadata=body.metadata)
    run = functools.partial(_search, body, branches, caller, service)
    results = await anyio.to_thread.run_sync(run, limiter=state.search_slots)
    return {"results": results}


@router.post("/v3/memories/", summary="mem0: list memories")
def list_memories(
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    body: Annotated[ListBody | None, Body()] = None,
    page: Annotated[int | None, Query(ge=1)] = None,
    page_size: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> dict[str, Any]:
    """A page of the memories ``filters`` names, newest first: ``count``, ``next``,
    ``previous``, ``results`` (events and facts)."""
    body = body or ListBody()
    refuse_set(body, _LIST_REFUSED)
    number = page or body.page or 1
    size = page_size or body.page_size or 100
    records = _collect(service, caller, branches_from(body.filters), bool(body.show_expired))
    records = _within(
        records, _date(body.start_date, "start_date"), _date(body.end_date, "end_date")
    )
    start = (number - 1) * size
    chunk = records[start : start + size]
    return {
        "count": len(records),
        "next": _page_url(request, number + 1, size) if start + size < len(records) else None,
        "previous": _page_url(request, number - 1, size) if number > 1 else None,
        "results": [memory_dict(r) for r in chunk],
    }


@router.get("/v1/memories/{memory_id}/", summary="mem0: get a memory")
def get(memory_id: str, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    """One memory by id (404 when unknown or another tenant's)."""
    return memory_dict(service.get(checked_id(memory_id), namespace=caller.namespace))


@router.get("/v1/memories/{memory_id}/history/", summary="mem0: a memory's history")
def history(memory_id: str, caller: CallerDep, service: ServiceDep) -> list[dict[str, Any]]:
    """The memory's changes, oldest first, as mem0's ``ADD``/``UPDATE``/``DELETE`` entries."""
    memory_id = checked_id(memory_id)
    entries = service.history(memory_id, namespace=caller.namespace)
    try:
        current: MemoryRecord | None = service.get(memory_id, namespace=caller.namespace)
    except MemoryNotFound:
        current = None
    return history_items(memory_id, entries, current)


# -- entities ------------------------------------------------------------------------------


@router.get("/v1/entities/", summary="mem0: users, agents and runs")
def entities(
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Every user, agent and run (memsvc session) with memories, and how many each has."""
    items = [
        {
            "id": f"{_mem0_type(k['type'])}:{k['name']}",
            "name": k["name"],
            "type": _mem0_type(k["type"]),
            "total_memories": k["memories"],
            "created_at": _iso(k["first_at"]),
            "updated_at": _iso(k["last_at"]),
            "owner": None,
            "organization": None,
            "metadata": None,
        }
        for k in service.scope_keys(namespace=caller.namespace)
    ]
    start = (page - 1) * page_size
    return {
        "count": len(items),
        "next": _page_url(request, page + 1, page_size) if start + page_size < len(items) else None,
        "previous": _page_url(request, page - 1, page_size) if page > 1 else None,
        "results": items[start : start + page_size],
    }


@router.delete("/v2/entities/{entity_type}/{entity_id}/", summary="mem0: delete an entity")
@router.delete("/v1/entities/{entity_type}/{entity_id}/", include_in_schema=False)
def delete_entity(
    entity_type: str, entity_id: str, caller: CallerDep, service: ServiceDep
) -> dict[str, Any]:
    """Erase every memory of one user, agent or run."""
    service.delete_all(scope=_entity_scope(entity_type, entity_id), namespace=caller.namespace)
    return {"message": "Entity deleted successfully!"}


@router.get("/v2/entities/user/{entity_id}/profile/", summary="mem0: a user's profile")
def user_profile(entity_id: str, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    """The profile summary consolidation built for the user (``insufficient_data`` until then)."""
    record = service.profile(scope=_entity_scope("user", entity_id), namespace=caller.namespace)
    return {
        "profile": {"summary": record.content} if record is not None else {},
        "status": "succeeded" if record is not None else "insufficient_data",
        "entity_type": "user",
        "entity_id": entity_id,
        "updated_at": _iso(record.updated_at) if record is not None else None,
        "generation_count": 1 if record is not None else 0,
    }


def _unsupported_route(what: str) -> Any:
    def answer() -> Any:
        return mem0_error(
            501, "not_implemented", f"memsvc's mem0-compatible API does not offer {what}"
        )

    return answer


for _method, _path, _what in _UNSUPPORTED_PATHS:
    router.add_api_route(
        _path,
        _unsupported_route(_what),
        methods=[_method],
        include_in_schema=False,
        dependencies=[Depends(get_caller)],  # a bad key still answers 401 first
    )


# -- helpers -------------------------------------------------------------------------------


def _add_keys(body: AddBody) -> dict[str, str | None]:
    """Entity ids from the top level, else from a flat ``filters`` (both forms are sent)."""
    flat = body.filters or {}
    out: dict[str, str | None] = {}
    for name in ("user_id", "agent_id", "run_id", "app_id"):
        value = getattr(body, name)
        if value is None:
            value = flat.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidQuery(f"{name} must be a string", detail={"field": name})
        out[name] = value
    return out


def _messages(raw: str | dict[str, Any] | list[dict[str, Any] | str]) -> list[Any]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[Any] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(item)
            continue
        content = item.get("content")
        if not isinstance(content, str):
            raise InvalidContent(
                f"messages[{i}].content must be text: memsvc stores text messages",
                detail={"field": f"messages[{i}].content"},
            )
        role = item.get("role") if isinstance(item.get("role"), str) else "user"
        name = item.get("name") if isinstance(item.get("name"), str) else None
        out.append({"role": role, "content": content, "name": name})
    return out


def _update(
    service: MemoryService,
    caller: Caller,
    memory_id: str,
    text: str | None,
    metadata: dict[str, Any] | None,
) -> MemoryRecord:
    if metadata is not None:
        current = service.get(memory_id, namespace=caller.namespace)
        # app_id lives in metadata; a metadata update from a mem0 client must not drop it.
        if APP_KEY in current.metadata and APP_KEY not in metadata:
            metadata = {**metadata, APP_KEY: current.metadata[APP_KEY]}
    return service.update(
        memory_id, content=text, metadata=metadata, namespace=caller.namespace, actor="api"
    )


def _search(
    body: SearchBody, branches: list[Branch], caller: Caller, service: MemoryService
) -> list[dict[str, Any]]:
    best: dict[str, Hit] = {}
    for branch in branches:
        result = service.search(
            body.query,
            scope=branch.to_scope(),
            namespace=caller.namespace,
            top_k=body.top_k,
            include_inactive=bool(body.show_expired),
            metadata=dict(branch.metadata) or None,
        )
        for hit in result.hits:
            seen = best.get(hit.record.id)
            if seen is None or hit.score > seen.score:
                best[hit.record.id] = hit
    ranked = sorted(best.values(), key=lambda hit: -hit.score)
    if body.threshold is not None:
        ranked = [hit for hit in ranked if hit.score >= body.threshold]
    if body.top_k is not None:
        ranked = ranked[: body.top_k]
    # Provenance rides along: the client's own ids (metadata "ref") of the hit's sources.
    results = [
        memory_dict(hit.record, score=hit.score) | {"source_refs": list(hit.source_refs)}
        for hit in ranked
    ]
    if body.fields:
        keep = {"id", *body.fields}
        results = [{k: v for k, v in r.items() if k in keep} for r in results]
    return results


def _collect(
    service: MemoryService, caller: Caller, branches: Iterable[Branch], show_expired: bool
) -> list[MemoryRecord]:
    found: dict[str, MemoryRecord] = {}
    for branch in branches:
        cursor: str | None = None
        while True:
            page = service.get_all(
                scope=branch.to_scope(),
                include_inactive=show_expired,
                metadata=dict(branch.metadata) or None,
                cursor=cursor,
                limit=_PAGE_READ,
                namespace=caller.namespace,
            )
            for record in page.items:
                found.setdefault(record.id, record)
            cursor = page.next_cursor
            if cursor is None:
                break
    return sorted(found.values(), key=lambda r: (r.created_at, r.id), reverse=True)


def _date(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQuery(f"{field} must be an ISO 8601 date", detail={"field": field}) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _within(
    records: list[MemoryRecord], start: datetime | None, end: datetime | None
) -> list[MemoryRecord]:
    def aware(value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    return [
        r
        for r in records
        if (start is None or aware(r.created_at) >= start)
        and (end is None or aware(r.created_at) <= end)
    ]


def _page_url(request: Request, page: int, size: int) -> str:
    return str(request.url.include_query_params(page=page, page_size=size))


def _entity_scope(entity_type: str, entity_id: str) -> Scope:
    key = _ENTITY_SCOPE.get(entity_type)
    if key is None:
        if entity_type == "app":
            raise Unsupported(
                "app entities are not supported by memsvc (app_id is metadata, not a scope)",
                detail={"field": "entity_type"},
            )
        raise InvalidQuery(
            "entity_type must be user, agent or run", detail={"field": "entity_type"}
        )
    return scope_of({key: entity_id})


def _mem0_type(kind: str) -> str:
    return "run" if kind == "session" else kind


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()
