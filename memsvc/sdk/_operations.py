"""Every SDK operation, defined once: the request to send and how to read its answer.

``MemoryClient`` and ``AsyncMemoryClient`` turn each function here into a method (see
``client.py``), so the sync and async clients cannot drift apart. Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from memsvc.errors import MemoryNotFound
from memsvc.schemas import (
    AddResponse,
    AnswerResponse,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyPublic,
    ApiKeyRevoked,
    DeleteAllResponse,
    EntityList,
    EntityPublic,
    HistoryEntryPublic,
    HistoryList,
    JobPublic,
    MemoryList,
    MemoryPage,
    MemoryPublic,
    ModeName,
    ProfileResponse,
    SearchResponse,
    StatsPublic,
)
from memsvc.types import MemoryKind

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_IDEMPOTENT = frozenset({"GET", "DELETE", "PATCH"})


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP exchange: what to send, and how a 2xx answer becomes the result."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    is_safe_to_resend: bool = False
    """Whether the request may be sent again after a transport error or a 503 that happened
    after it may have reached the server (reads, deletes, updates, searches, and adds, which
    carry an idempotency key)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra request headers (the add's ``Idempotency-Key``), the same on every retry."""


def _call(
    method: str,
    path: str,
    parse: Callable[[httpx.Response], T],
    *,
    params: Mapping[str, Any] | None = None,
    body: Mapping[str, Any] | None = None,
    is_safe_to_resend: bool | None = None,
    headers: Mapping[str, str] | None = None,
) -> Call[T]:
    return Call(
        headers=dict(headers or {}),
        method=method,
        path=path,
        parse=parse,
        params={k: v for k, v in (params or {}).items() if v is not None},
        json={k: v for k, v in body.items() if v is not None} if body is not None else None,
        is_safe_to_resend=method in _IDEMPOTENT if is_safe_to_resend is None else is_safe_to_resend,
    )


def _model(cls: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: cls.model_validate_json(response.content)


def _time(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _memory_path(memory_id: str, suffix: str = "") -> str:
    if not isinstance(memory_id, str) or not memory_id.strip():
        raise MemoryNotFound("no memory with this id", detail={"id": str(memory_id)[:80]})
    return f"/v1/memories/{quote(memory_id, safe='')}{suffix}"


def _messages(messages: Any) -> Any:
    """Messages as JSON: strings, mappings, ``memsvc.types.Message`` or pydantic models."""
    if isinstance(messages, BaseModel):
        return messages.model_dump(exclude_none=True)
    if dataclasses.is_dataclass(messages) and not isinstance(messages, type):
        return {k: v for k, v in dataclasses.asdict(messages).items() if v is not None}
    if isinstance(messages, list | tuple):
        return [_messages(m) for m in messages]
    return messages


def _kinds(kinds: Sequence[MemoryKind | str] | None) -> list[str] | None:
    return [str(k) for k in kinds] if kinds else None


def _scope(user_id: str | None, agent_id: str | None, session_id: str | None) -> dict[str, Any]:
    return {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}


def add(
    messages: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    occurred_at: datetime | str | None = None,
    idempotency_key: str | None = None,
) -> Call[AddResponse]:
    """Store messages; they are searchable when this returns.

    Args:
        messages: a string, a ``{"role", "content", "name"?}`` mapping, or a list of them.
        metadata: a JSON object stored on every event (``"ref"`` is echoed in provenance).
        occurred_at: when the messages happened (default now).
        idempotency_key: sent as ``Idempotency-Key``; default a fresh random key per call,
            reused by the client's retries, so a retried add is never stored twice. Pass your
            own to make a repeat of the same call (after a crash of yours) safe too.

    Example::

        client.add("I moved to Paris last week", user_id="alice")
    """
    body = {
        "messages": _messages(messages),
        **_scope(user_id, agent_id, session_id),
        "metadata": metadata,
        "occurred_at": _time(occurred_at),
    }
    key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
    return _call(
        "POST",
        "/v1/memories",
        _model(AddResponse),
        body=body,
        is_safe_to_resend=True,
        headers={"Idempotency-Key": key},
    )


def search(
    query: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    top_k: int | None = None,
    kinds: Sequence[MemoryKind | str] | None = None,
    as_of: datetime | str | None = None,
    include_inactive: bool = False,
    filters: dict[str, Any] | None = None,
    rounds: int | None = None,
    context_tokens: int | None = None,
) -> Call[SearchResponse]:
    """The memories that matter for ``query``, best first, with provenance and validity.

    Args:
        filters: metadata equality filters.
        as_of: answer with what was true at that time (superseded facts included).
        context_tokens: also return a context string within this many tokens.

    Example::

        for hit in client.search("where does alice live?", user_id="alice").hits:
            print(hit.score, hit.memory.content)
    """
    body = {
        "query": query,
        **_scope(user_id, agent_id, session_id),
        "top_k": top_k,
        "kinds": _kinds(kinds),
        "as_of": _time(as_of),
        "include_inactive": include_inactive or None,
        "filters": filters,
        "rounds": rounds,
        "context_tokens": context_tokens,
    }
    return _call("POST", "/v1/search", _model(SearchResponse), body=body, is_safe_to_resend=True)


def get(memory_id: str) -> Call[MemoryPublic]:
    """One memory by id (raises ``MemoryNotFound``)."""
    return _call("GET", _memory_path(memory_id), _model(MemoryPublic))


def get_all(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    kinds: Sequence[MemoryKind | str] | None = None,
    include_inactive: bool = False,
    filters: dict[str, Any] | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Call[MemoryPage]:
    """A page of a scope's memories; pass ``next_cursor`` back for the next page."""
    params = {
        **_scope(user_id, agent_id, session_id),
        "kinds": _kinds(kinds),
        "include_inactive": "true" if include_inactive else None,
        "filters": json.dumps(filters) if filters else None,
        "cursor": cursor,
        "limit": limit,
    }
    return _call("GET", "/v1/memories", _model(MemoryPage), params=params)


def update(
    memory_id: str, *, content: str | None = None, metadata: dict[str, Any] | None = None
) -> Call[MemoryPublic]:
    """Change a memory's text and/or metadata (recorded in history)."""
    body = {"content": content, "metadata": metadata}
    return _call("PATCH", _memory_path(memory_id), _model(MemoryPublic), body=body)


def delete(memory_id: str, *, erase_history: bool = False) -> Call[None]:
    """Delete one memory everywhere; ``erase_history`` removes its history too."""
    params = {"erase_history": "true" if erase_history else None}
    return _call("DELETE", _memory_path(memory_id), lambda _: None, params=params)


def delete_all(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    purge: bool = False,
) -> Call[int]:
    """Erase every memory of a scope, with its history; returns how many were deleted.

    ``purge=True`` also erases every trace of the text from every store (see ``erase``).
    """
    return _call(
        "DELETE",
        "/v1/memories",
        lambda r: DeleteAllResponse.model_validate_json(r.content).deleted,
        params={**_scope(user_id, agent_id, session_id), **({"purge": "true"} if purge else {})},
    )


def erase(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    purge: bool = True,
    verify: bool = False,
) -> Call[dict[str, Any]]:
    """Erase a scope (by default a purge: no byte of its text left in any store); counts per
    store, with the verification scan's report under ``verify`` when asked."""
    params = {
        **_scope(user_id, agent_id, session_id),
        "purge": "true" if purge else "false",
        "verify": "true" if verify else "false",
    }
    return _call(
        "DELETE",
        "/v1/memories",
        lambda r: DeleteAllResponse.model_validate_json(r.content).counts,
        params=params,
    )


def history(memory_id: str) -> Call[list[HistoryEntryPublic]]:
    """Every change of a memory, oldest first."""
    return _call(
        "GET",
        _memory_path(memory_id, "/history"),
        lambda r: HistoryList.model_validate_json(r.content).items,
    )


def episodes(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    limit: int = 100,
) -> Call[list[MemoryPublic]]:
    """The scope's episodes, newest first."""
    params = {**_scope(user_id, agent_id, session_id), "limit": limit}
    return _call("GET", "/v1/episodes", _items, params=params)


def tree(
    *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None
) -> Call[list[MemoryPublic]]:
    """The scope's MemTree nodes depth-first, root first."""
    return _call("GET", "/v1/tree", _items, params=_scope(user_id, agent_id, session_id))


def entities(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    types: Sequence[str] | None = None,
    query: str | None = None,
    limit: int = 100,
) -> Call[list[EntityPublic]]:
    """The scope's entities (people, places, organisations, things), most mentioned first."""
    params: dict[str, Any] = {**_scope(user_id, agent_id, session_id), "limit": limit}
    if types:
        params["type"] = list(types)
    if query is not None:
        params["q"] = query
    return _call(
        "GET",
        "/v1/entities",
        lambda r: EntityList.model_validate_json(r.content).items,
        params=params,
    )


def profile(
    *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None
) -> Call[MemoryPublic | None]:
    """The scope's profile summary, or ``None`` before consolidation has built one."""
    return _call(
        "GET",
        "/v1/profile",
        lambda r: ProfileResponse.model_validate_json(r.content).profile,
        params=_scope(user_id, agent_id, session_id),
    )


def consolidate(
    *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None
) -> Call[JobPublic]:
    """Queue consolidation of a scope now; poll the returned job with ``job``."""
    return _call(
        "POST", "/v1/consolidate", _model(JobPublic), body=_scope(user_id, agent_id, session_id)
    )


def job(job_id: int) -> Call[JobPublic]:
    """A consolidation job's status (raises ``JobNotFound``)."""
    return _call("GET", f"/v1/jobs/{int(job_id)}", _model(JobPublic))


def stats() -> Call[StatsPublic]:
    """Counts per kind, index sizes, queue depth and LLM usage of the namespace."""
    return _call("GET", "/v1/stats", _model(StatsPublic))


def create_key(
    *, namespace: str, name: str = "default", is_admin: bool = False
) -> Call[ApiKeyCreated]:
    """Create an API key (admin key needed); the secret is in the answer, once."""
    body = {"namespace": namespace, "name": name, "is_admin": is_admin}
    return _call("POST", "/v1/admin/keys", _model(ApiKeyCreated), body=body)


def list_keys(*, namespace: str | None = None) -> Call[list[ApiKeyPublic]]:
    """API keys without secrets (admin key needed)."""
    return _call(
        "GET",
        "/v1/admin/keys",
        lambda r: ApiKeyList.model_validate_json(r.content).items,
        params={"namespace": namespace},
    )


def revoke_key(key_id: int) -> Call[bool]:
    """Revoke an API key (admin key needed); False when no live key had this id."""
    return _call(
        "DELETE",
        f"/v1/admin/keys/{int(key_id)}",
        lambda r: ApiKeyRevoked.model_validate_json(r.content).revoked,
    )


def _items(response: httpx.Response) -> list[MemoryPublic]:
    return MemoryList.model_validate_json(response.content).items


def answer(
    question: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    memories: int | None = None,
    mode: ModeName | None = None,
) -> Call[AnswerResponse]:
    """Answer ``question`` from the scope's memories (``POST /v1/answer``: retrieve, then read
    them in the server's reader model), with the memories it attended to as citations."""
    body: dict[str, Any] = {"question": question, **_scope(user_id, agent_id, session_id)}
    if memories is not None:
        body["memories"] = memories
    if mode is not None:
        body["mode"] = mode
    return _call(
        "POST",
        "/v1/answer",
        lambda r: AnswerResponse.model_validate_json(r.content),
        body=body,
        is_safe_to_resend=True,  # an answer reads; it stores nothing
    )
