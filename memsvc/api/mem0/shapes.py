"""mem0's request bodies and response objects, and the mapping from memsvc's records.

A memory comes back the way mem0's clients read it (``id``, ``memory``, ``user_id``,
``agent_id``, ``app_id``, ``run_id``, ``hash``, ``metadata``, ``categories``, ``created_at``,
``updated_at``, ``score``) plus what memsvc knows and mem0 does not (``kind``, ``occurred_at``,
``valid_from``, ``valid_to``, ``status``, ``source_event_ids``, ``role``, ``speaker``): extra
keys, which both clients pass through untouched.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from memsvc.api.mem0.errors import Unsupported
from memsvc.types import HistoryEntry, MemoryRecord

__all__ = [
    "APP_KEY",
    "AddBody",
    "BatchDeleteBody",
    "BatchUpdateBody",
    "ListBody",
    "SearchBody",
    "UpdateBody",
    "history_items",
    "memory_dict",
    "refuse_set",
]

APP_KEY = "app_id"
"""The metadata key that holds mem0's ``app_id`` (memsvc has no app scope)."""

_OPERATION_EVENT = {
    "add": "ADD",
    "merge": "UPDATE",
    "update": "UPDATE",
    "invalidate": "UPDATE",
    "forget": "UPDATE",
    "delete": "DELETE",
}
_TEXT_KEYS = ("content", "text", "summary")


class _Body(BaseModel):
    # mem0's clients send options memsvc does not need (output_format, version, async_mode,
    # rerank, org_id ...): ignored. Options that would change the outcome are fields below and
    # are refused when set (refuse_set).
    model_config = ConfigDict(extra="ignore")


class AddBody(_Body):
    """``POST /v3/memories/add/`` (and ``/v1/memories/``)."""

    messages: str | dict[str, Any] | list[dict[str, Any] | str]
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None
    filters: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    timestamp: int | float | None = Field(default=None, description="Unix time of the messages.")
    infer: bool | None = None
    expiration_date: str | None = None
    custom_categories: Any = None
    custom_instructions: str | None = None
    agent_custom_instructions: str | None = None
    structured_data_schema: Any = None
    enable_graph: bool | None = None
    immutable: bool | None = None


class SearchBody(_Body):
    """``POST /v3/memories/search/``."""

    query: str
    filters: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    top_k: int | None = Field(default=None, ge=1)
    threshold: float | None = None
    fields: list[str] | None = None
    show_expired: bool | None = None
    categories: list[str] | None = None
    reference_date: str | int | None = None


class ListBody(_Body):
    """``POST /v3/memories/`` (mem0's ``get_all``)."""

    filters: dict[str, Any] | None = None
    page: int | None = Field(default=None, ge=1)
    page_size: int | None = Field(default=None, ge=1, le=1000)
    show_expired: bool | None = None
    start_date: str | None = None
    end_date: str | None = None
    categories: list[str] | None = None


class UpdateBody(_Body):
    """``PUT /v1/memories/{id}/``."""

    text: str | None = None
    metadata: dict[str, Any] | None = None
    timestamp: int | float | str | None = None
    expiration_date: str | None = None


class _BatchUpdateItem(_Body):
    memory_id: str
    text: str | None = None
    metadata: dict[str, Any] | None = None


class BatchUpdateBody(_Body):
    """``PUT /v1/batch/``."""

    memories: list[_BatchUpdateItem] = Field(min_length=1, max_length=1000)


class _BatchDeleteItem(_Body):
    memory_id: str


class BatchDeleteBody(_Body):
    """``DELETE /v1/batch/``."""

    memories: list[_BatchDeleteItem] = Field(min_length=1, max_length=1000)


def refuse_set(body: BaseModel, reasons: dict[str, str]) -> None:
    """Refuse the options of ``body`` named in ``reasons`` when the caller set them.

    Raises:
        Unsupported: the first such option, with its reason.
    """
    for name, reason in reasons.items():
        value = getattr(body, name)
        if value not in (None, False, [], {}):
            raise Unsupported(
                f"{name} is not supported by memsvc: {reason}", detail={"field": name}
            )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def memory_dict(record: MemoryRecord, *, score: float | None = None) -> dict[str, Any]:
    """A memsvc record as mem0's memory object (with memsvc's own fields beside)."""
    metadata = dict(record.metadata)
    app_id = metadata.pop(APP_KEY, None)
    out: dict[str, Any] = {
        "id": record.id,
        "memory": record.content,
        "user_id": record.scope.user_id,
        "agent_id": record.scope.agent_id,
        "app_id": app_id,
        "run_id": record.scope.session_id,
        "hash": hashlib.md5(record.content.encode("utf-8")).hexdigest(),
        "metadata": metadata or None,
        "categories": [],
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "expiration_date": None,
        "immutable": False,
        "kind": record.kind.value,
        "occurred_at": _iso(record.occurred_at),
        "valid_from": _iso(record.valid_from),
        "valid_to": _iso(record.valid_to),
        "status": record.status,
        "source_event_ids": [f"event_{i}" for i in record.source_event_ids],
        "role": record.role,
        "speaker": record.speaker,
    }
    if score is not None:
        out["score"] = score
    return out


def _text(snapshot: dict[str, Any] | None) -> str | None:
    if not snapshot:
        return None
    for key in _TEXT_KEYS:
        value = snapshot.get(key)
        if isinstance(value, str):
            return value
    return None


def history_items(
    memory_id: str, entries: list[HistoryEntry], current: MemoryRecord | None
) -> list[dict[str, Any]]:
    """A memory's history as mem0's history list, oldest first.

    memsvc records changes, not the insert of an event, so when the first entry is not an
    ``add`` an ``ADD`` entry is put first, its text taken from the first change's ``before``
    (or from the memory itself when nothing changed yet).
    """
    scope = current.scope if current is not None else None
    items: list[dict[str, Any]] = []
    first = entries[0] if entries else None
    if first is None or first.operation != "add":
        added = _text(dict(first.before)) if first is not None and first.before else None
        when = first.created_at if first is not None else None
        if current is not None:
            added, when = added or current.content, current.created_at
        if added is not None and when is not None:
            items.append(_history_item(memory_id, "ADD", None, added, when, scope, 0))
    for entry in entries:
        before = _text(dict(entry.before)) if entry.before else None
        after = _text(dict(entry.after)) if entry.after else None
        event = _OPERATION_EVENT.get(entry.operation, "UPDATE")
        items.append(
            _history_item(memory_id, event, before, after, entry.created_at, scope, entry.id)
            | {"reason": entry.reason, "actor": entry.actor, "operation": entry.operation}
        )
    return items


def _history_item(
    memory_id: str,
    event: str,
    old: str | None,
    new: str | None,
    when: datetime,
    scope: Any,
    entry_id: int,
) -> dict[str, Any]:
    return {
        "id": f"{memory_id}.{entry_id}",
        "memory_id": memory_id,
        "input": [],
        "old_memory": old,
        "new_memory": new,
        "event": event,
        "user_id": scope.user_id if scope is not None else None,
        "agent_id": scope.agent_id if scope is not None else None,
        "run_id": scope.session_id if scope is not None else None,
        "categories": [],
        "metadata": None,
        "created_at": _iso(when),
        "updated_at": _iso(when),
    }
