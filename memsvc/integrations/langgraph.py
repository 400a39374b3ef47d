"""A LangGraph ``BaseStore`` on memsvc: graphs and LangMem's tools keep their memory here.

Each item is one memsvc event: its text (the value's indexed fields, or the whole value as
JSON) is what memsvc's hybrid retrieval searches; the value itself, the key and the namespace
ride in the event's metadata. A namespace is a memsvc scope: ``user_id`` is the namespace's
labels joined by ``/`` (hashed when that is not a valid scope key) and ``agent_id`` is the
store's own (``"langgraph"`` by default), so the items are memsvc memories like any other
(``memsvc inspect``, history, export) and never mix with chat memories of the same user.
A search over a namespace prefix reads the store's agent scope, filtered inside memsvc by the
prefix's labels (``lg_ns_0``, ``lg_ns_1`` ... in metadata); ``filter`` compares the value's
top-level fields (kept as ``lg_v_<field>``) for equality.

The backend is the embedded :class:`memsvc.Memory` or the HTTP :class:`memsvc.sdk.MemoryClient`
(same methods). The async methods run the sync ones in a worker thread.

Example::

    from memsvc import Memory
    from memsvc.integrations.langgraph import MemsvcStore

    store = MemsvcStore(Memory())
    store.put(("memories", "alice"), "home", {"content": "Alice lives in Lisbon"})
    store.search(("memories", "alice"), query="where does alice live?")[0].value
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph.store.base.embed import get_text_at_path

from memsvc.schemas import AddResponse, MemoryPage, MemoryPublic, SearchResponse

__all__ = ["MemoryBackend", "MemsvcStore"]

_SCOPE_KEY = re.compile(r"^[A-Za-z0-9._@:+\-/]{1,128}$")
_KEY = "lg_key"
_VALUE = "lg_value"
_NAMESPACE = "lg_ns"
_LEVEL = "lg_ns_"
_FIELD = "lg_v_"
_PAGE = 1000


class MemoryBackend(Protocol):
    """What the store calls: :class:`memsvc.Memory` and :class:`memsvc.sdk.MemoryClient`."""

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = ...,
        agent_id: str | None = ...,
        metadata: dict[str, Any] | None = ...,
    ) -> AddResponse: ...

    def search(
        self,
        query: str,
        *,
        agent_id: str | None = ...,
        top_k: int | None = ...,
        kinds: Sequence[str] | None = ...,
        filters: dict[str, Any] | None = ...,
    ) -> SearchResponse: ...

    def get_all(
        self,
        *,
        user_id: str | None = ...,
        agent_id: str | None = ...,
        kinds: Sequence[str] | None = ...,
        filters: dict[str, Any] | None = ...,
        cursor: str | None = ...,
        limit: int = ...,
    ) -> MemoryPage: ...

    def update(
        self, memory_id: str, *, content: str | None = ..., metadata: dict[str, Any] | None = ...
    ) -> MemoryPublic: ...

    def delete(self, memory_id: str, *, erase_history: bool = ...) -> None: ...


class MemsvcStore(BaseStore):
    """LangGraph's key-value store with natural-language search, kept in memsvc.

    Args:
        memory: the backend (embedded ``Memory`` or HTTP ``MemoryClient``).
        agent_id: the memsvc agent scope every item is stored under.
        index_fields: value fields whose text is indexed (LangGraph's ``index`` paths, e.g.
            ``["content"]``); default: the ``content`` field when present, else the value as
            JSON. A ``put(..., index=[...])`` overrides it for that item.
    """

    def __init__(
        self,
        memory: MemoryBackend,
        *,
        agent_id: str = "langgraph",
        index_fields: Sequence[str] | None = None,
    ) -> None:
        self._memory = memory
        self._agent_id = agent_id
        self._index_fields = list(index_fields) if index_fields else None

    # -- BaseStore --------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the operations in order; each result is in the position of its operation."""
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op.namespace, op.key))
            elif isinstance(op, PutOp):
                self._put(op)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                raise TypeError(f"unknown store operation: {type(op).__name__}")
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """:meth:`batch` in a worker thread (the backends are blocking)."""
        return await asyncio.to_thread(self.batch, list(ops))

    # -- operations -------------------------------------------------------------------------

    def _get(self, namespace: tuple[str, ...], key: str) -> Item | None:
        found = self._find(namespace, key)
        return _item(found) if found is not None else None

    def _put(self, op: PutOp) -> None:
        existing = self._find(op.namespace, op.key)
        if op.value is None:
            if existing is not None:
                self._memory.delete(existing.id)
            return
        value = dict(op.value)
        text = self._text(op.key, value, op.index)
        metadata = _metadata(op.namespace, op.key, value)
        if existing is not None:
            self._memory.update(existing.id, content=text, metadata=metadata)
            return
        self._memory.add(
            text,
            user_id=_scope_key(op.namespace),
            agent_id=self._agent_id,
            metadata=metadata,
        )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        filters = _prefix_filters(op.namespace_prefix) | _value_filters(op.filter)
        if op.query:
            response = self._memory.search(
                op.query,
                agent_id=self._agent_id,
                top_k=op.offset + op.limit,
                kinds=["event"],
                filters=filters,
            )
            hits = [(h.memory, h.score) for h in response.hits][op.offset :]
            return [_search_item(m, s) for m, s in hits]
        records = self._list(filters)
        records.sort(key=lambda m: m.updated_at, reverse=True)
        return [_search_item(m, None) for m in records[op.offset : op.offset + op.limit]]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        found = {_namespace_of(m) for m in self._list({})}
        if op.max_depth is not None:
            found = {ns[: op.max_depth] for ns in found}
        matches = [ns for ns in found if all(_matches(ns, c) for c in op.match_conditions or ())]
        return sorted(matches)[op.offset : op.offset + op.limit]

    # -- helpers ----------------------------------------------------------------------------

    def _find(self, namespace: tuple[str, ...], key: str) -> MemoryPublic | None:
        page = self._memory.get_all(
            user_id=_scope_key(namespace),
            agent_id=self._agent_id,
            kinds=["event"],
            filters={_NAMESPACE: "/".join(namespace), _KEY: key},
            limit=1,
        )
        return page.items[0] if page.items else None

    def _list(self, filters: dict[str, Any]) -> list[MemoryPublic]:
        out: list[MemoryPublic] = []
        cursor: str | None = None
        while True:
            page = self._memory.get_all(
                agent_id=self._agent_id,
                kinds=["event"],
                filters=filters or None,
                cursor=cursor,
                limit=_PAGE,
            )
            out.extend(m for m in page.items if _KEY in m.metadata)
            cursor = page.next_cursor
            if cursor is None:
                return out

    def _text(self, key: str, value: dict[str, Any], index: Any) -> str:
        fields = self._index_fields if index is None else index
        if fields is False:
            return key
        if not fields and isinstance(value.get("content"), str) and value["content"].strip():
            return str(value["content"])
        if fields:
            texts = [t for path in fields for t in get_text_at_path(value, path) if t.strip()]
            if texts:
                return "\n".join(texts)
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _scope_key(namespace: tuple[str, ...]) -> str:
    joined = "/".join(namespace)
    if _SCOPE_KEY.match(joined):
        return joined
    return "lg:" + hashlib.sha256(joined.encode("utf-8")).hexdigest()[:40]


def _metadata(namespace: tuple[str, ...], key: str, value: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {_KEY: key, _NAMESPACE: "/".join(namespace), _VALUE: value}
    for i, label in enumerate(namespace):
        meta[f"{_LEVEL}{i}"] = label
    for name, field in value.items():
        if field is None or isinstance(field, str | int | float | bool):
            meta[f"{_FIELD}{name}"] = field
    return meta


def _prefix_filters(prefix: tuple[str, ...]) -> dict[str, Any]:
    return {f"{_LEVEL}{i}": label for i, label in enumerate(prefix)}


def _value_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, wanted in (filters or {}).items():
        if isinstance(wanted, Mapping):
            if set(wanted) != {"$eq"}:
                raise ValueError(
                    f"filter on {name!r}: memsvc's store compares values for equality only"
                )
            wanted = wanted["$eq"]
        out[f"{_FIELD}{name}"] = wanted
    return out


def _namespace_of(memory: MemoryPublic) -> tuple[str, ...]:
    meta = memory.metadata
    levels = sorted(
        (int(k[len(_LEVEL) :]), str(v)) for k, v in meta.items() if k.startswith(_LEVEL)
    )
    return tuple(label for _, label in levels)


def _matches(namespace: tuple[str, ...], condition: MatchCondition) -> bool:
    path = tuple(condition.path)
    if len(path) > len(namespace):
        return False
    part = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    return all(p in ("*", n) for p, n in zip(path, part, strict=True))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fields(memory: MemoryPublic) -> dict[str, Any]:
    meta = memory.metadata
    return {
        "value": dict(meta.get(_VALUE) or {}),
        "key": str(meta[_KEY]),
        "namespace": _namespace_of(memory),
        "created_at": _aware(memory.created_at),
        "updated_at": _aware(memory.updated_at),
    }


def _item(memory: MemoryPublic) -> Item:
    return Item(**_fields(memory))


def _search_item(memory: MemoryPublic, score: float | None) -> SearchItem:
    return SearchItem(**_fields(memory), score=score)
