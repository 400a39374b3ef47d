"""Memory: the embedded, in-process client. Same methods as the HTTP ``MemoryClient``.

Example::

    from memsvc import Memory

    memory = Memory()                       # SQLite + FAISS under ~/.memsvc, packaged model
    memory.add("I moved to Paris last week", user_id="alice")
    for hit in memory.search("where does alice live?", user_id="alice").hits:
        print(hit.score, hit.memory.content)
    memory.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from memsvc.answering import AnswerResponse, ModeName, answer
from memsvc.config import Settings
from memsvc.schemas import (
    AddResponse,
    EntityPublic,
    HistoryEntryPublic,
    JobPublic,
    MemoryPage,
    MemoryPublic,
    SearchResponse,
    StatsPublic,
)
from memsvc.service.facade import MemoryService
from memsvc.types import MemoryKind, Scope
from memsvc.wiring import build_service

__all__ = ["Memory"]


class Memory:
    """Long-term memory in this process.

    Args:
        settings: configuration (default: ``Settings()``, read from ``MEMSVC_*`` variables).
        service: an already built service (tests, or sharing one service between clients).
        namespace: the tenant to work in (default: ``settings.namespace``).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        service: MemoryService | None = None,
        namespace: str | None = None,
    ) -> None:
        self._owns_service = service is None
        self._service = service if service is not None else build_service(settings or Settings())
        self._namespace = namespace

    @property
    def service(self) -> MemoryService:
        """The underlying service (admin operations)."""
        return self._service

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        occurred_at: datetime | str | None = None,
        idempotency_key: str | None = None,
    ) -> AddResponse:
        """Store messages; they are searchable when this returns. See ``MemoryService.add``.

        ``idempotency_key`` makes a repeat of this call (after a crash, by another process on
        the same store) return the first reply and store nothing new.
        """
        result = self._service.add(
            messages,
            scope=Scope(user_id, agent_id, session_id),
            metadata=metadata,
            occurred_at=occurred_at,
            namespace=self._namespace,
            idempotency_key=idempotency_key,
        )
        return AddResponse.from_result(result)

    def search(
        self,
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
    ) -> SearchResponse:
        """The memories that matter for ``query``, best first, with provenance and validity.

        Args:
            filters: metadata equality filters.
            as_of: answer with what was true at that time (superseded facts included).
            context_tokens: also return a context string within this many tokens.
        """
        result = self._service.search(
            query,
            scope=Scope(user_id, agent_id, session_id),
            namespace=self._namespace,
            top_k=top_k,
            kinds=kinds,
            as_of=as_of,
            include_inactive=include_inactive,
            metadata=filters,
            rounds=rounds,
            context_tokens=context_tokens,
        )
        return SearchResponse.from_result(result)

    def answer(
        self,
        question: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        memories: int | None = None,
        mode: ModeName | None = None,
    ) -> AnswerResponse:
        """Answer ``question`` from the scope's memories: retrieve, then read them in the
        reader model (``settings.reader``), with the memories it attended to as citations.

        Args:
            memories: how many memories to retrieve and read (default ``reader.memories``).
            mode: the reader mode (default ``reader.mode``).
        """
        return answer(
            self._service,
            question,
            scope=Scope(user_id, agent_id, session_id),
            namespace=self._namespace,
            memories=memories,
            mode=mode,
        )

    def get(self, memory_id: str) -> MemoryPublic:
        """One memory by id (raises ``MemoryNotFound``)."""
        return MemoryPublic.from_record(self._service.get(memory_id, namespace=self._namespace))

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        kinds: Sequence[MemoryKind | str] | None = None,
        include_inactive: bool = False,
        filters: dict[str, Any] | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> MemoryPage:
        """A page of a scope's memories; pass ``next_cursor`` back for the next page."""
        page = self._service.get_all(
            scope=Scope(user_id, agent_id, session_id),
            kinds=[MemoryKind(k) for k in kinds] if kinds else None,
            include_inactive=include_inactive,
            metadata=filters,
            cursor=cursor,
            limit=limit,
            namespace=self._namespace,
        )
        return MemoryPage.from_page(page)

    def update(
        self, memory_id: str, *, content: str | None = None, metadata: dict[str, Any] | None = None
    ) -> MemoryPublic:
        """Change a memory's text and/or metadata (recorded in history)."""
        record = self._service.update(
            memory_id, content=content, metadata=metadata, namespace=self._namespace
        )
        return MemoryPublic.from_record(record)

    def delete(self, memory_id: str, *, erase_history: bool = False) -> None:
        """Delete one memory everywhere; ``erase_history`` removes its history too."""
        self._service.delete(memory_id, erase_history=erase_history, namespace=self._namespace)

    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        purge: bool = False,
    ) -> int:
        """Erase every memory of a scope, with its history; returns how many were deleted.

        ``purge=True`` also erases every trace of the text from every store (see :meth:`erase`).
        """
        counts = self._service.erase(
            scope=Scope(user_id, agent_id, session_id), purge=purge, namespace=self._namespace
        )
        return int(counts["memories"])

    def erase(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        purge: bool = True,
        verify: bool = False,
    ) -> dict[str, Any]:
        """Erase a scope (by default a purge: no byte of its text left in any store).

        Returns counts per store; with ``verify`` the verification scan's report under
        ``"verify"`` (``"clean": True`` when no store holds any of the erased text).
        """
        return self._service.erase(
            scope=Scope(user_id, agent_id, session_id),
            purge=purge,
            verify=verify,
            namespace=self._namespace,
        )

    def history(self, memory_id: str) -> list[HistoryEntryPublic]:
        """Every change of a memory, oldest first."""
        entries = self._service.history(memory_id, namespace=self._namespace)
        return [HistoryEntryPublic.from_entry(e) for e in entries]

    def episodes(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int = 100,
    ) -> list[MemoryPublic]:
        """The scope's episodes, newest first."""
        records = self._service.episodes(
            scope=Scope(user_id, agent_id, session_id), limit=limit, namespace=self._namespace
        )
        return [MemoryPublic.from_record(r) for r in records]

    def tree(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> list[MemoryPublic]:
        """The scope's MemTree nodes depth-first, root first."""
        records = self._service.tree(
            scope=Scope(user_id, agent_id, session_id), namespace=self._namespace
        )
        return [MemoryPublic.from_record(r) for r in records]

    def entities(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        types: Sequence[str] | None = None,
        query: str | None = None,
        limit: int = 100,
    ) -> list[EntityPublic]:
        """The scope's entities (people, places, organisations, things), most mentioned first."""
        found = self._service.entities(
            scope=Scope(user_id, agent_id, session_id),
            types=types,
            query=query,
            limit=limit,
            namespace=self._namespace,
        )
        return [EntityPublic.from_entity(e) for e in found]

    def profile(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> MemoryPublic | None:
        """The scope's profile summary, or ``None`` before consolidation has built one."""
        record = self._service.profile(
            scope=Scope(user_id, agent_id, session_id), namespace=self._namespace
        )
        return MemoryPublic.from_record(record) if record is not None else None

    def consolidate(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> JobPublic:
        """Queue consolidation of a scope now; poll the returned job with :meth:`job`."""
        job_id = self._service.consolidate(
            scope=Scope(user_id, agent_id, session_id), namespace=self._namespace
        )
        return self.job(job_id)

    def job(self, job_id: int) -> JobPublic:
        """A consolidation job's status (raises ``JobNotFound``)."""
        return JobPublic.from_job(self._service.job(job_id, namespace=self._namespace))

    def stats(self) -> StatsPublic:
        """Counts per kind, index sizes, queue depth and LLM usage of the namespace."""
        return StatsPublic.from_stats(self._service.stats(namespace=self._namespace))

    def close(self) -> None:
        """Flush and release everything this client built."""
        if self._owns_service:
            self._service.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
