"""Wire models shared by the REST API, the SDK and the embedded ``Memory``.

They follow ``XCreate / XUpdate / XPublic / XPage``. Only ``memsvc.types`` and pydantic are
imported, so the SDK stays light.

Request bodies forbid unknown fields (a typo is an error, not a silent no-op); response models
ignore unknown fields, so an older SDK keeps working against a newer server that adds some.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from memsvc.types import (
    AddResult,
    Entity,
    HistoryEntry,
    Hit,
    MemoryKind,
    MemoryRecord,
    Page,
    Scope,
    SearchResult,
)

__all__ = [
    "AddResponse",
    "AnswerRequestBody",
    "AnswerResponse",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyPublic",
    "ApiKeyRevoked",
    "CitationPublic",
    "ConsolidateRequest",
    "DeleteAllResponse",
    "EntityList",
    "EntityPublic",
    "ErrorBody",
    "ErrorResponse",
    "HealthResponse",
    "HistoryEntryPublic",
    "HistoryList",
    "HitPublic",
    "JobPublic",
    "MemoryCreate",
    "MemoryList",
    "MemoryPage",
    "MemoryPublic",
    "MemoryUpdate",
    "MessageIn",
    "ModeName",
    "ProfileResponse",
    "ReadyResponse",
    "SearchRequestBody",
    "SearchResponse",
    "StatsPublic",
]

KindName = Literal["event", "episode", "fact", "summary", "tree_node"]


def _scope_field() -> Any:
    return Field(default=None, max_length=128, description="Scope key: letters, digits and ._@:+-/")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- requests ---------------------------------------------------------------------------


class MessageIn(_Request):
    """One message to remember."""

    content: str = Field(description="What was said or observed.", examples=["I moved to Paris."])
    role: str = Field(default="user", max_length=32, description="user, assistant, system, tool...")
    name: str | None = Field(
        default=None, max_length=128, description="Speaker name (resolves 'I' in facts)."
    )


class MemoryCreate(_Request):
    """Body of ``POST /v1/memories``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "messages": [
                        {"role": "user", "content": "I moved to Paris last week.", "name": "Alice"},
                        {"role": "assistant", "content": "How do you like it so far?"},
                    ],
                    "user_id": "alice",
                    "session_id": "s1",
                    "metadata": {"ref": "chat-42"},
                }
            ]
        },
    )

    messages: str | MessageIn | list[MessageIn | str] = Field(
        description="A string, one message, or a list of messages and/or strings."
    )
    user_id: str | None = _scope_field()
    agent_id: str | None = _scope_field()
    session_id: str | None = _scope_field()
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="JSON object stored with each event; 'ref' is echoed in provenance.",
    )
    occurred_at: datetime | None = Field(
        default=None, description="When the messages happened (default: now)."
    )

    def messages_as_input(self) -> str | list[str | dict[str, Any]]:
        """The messages in the shape ``MemoryService.add`` takes."""
        if isinstance(self.messages, str):
            return self.messages
        items = self.messages if isinstance(self.messages, list) else [self.messages]
        return [m if isinstance(m, str) else m.model_dump() for m in items]


class MemoryUpdate(_Request):
    """Body of ``PATCH /v1/memories/{id}``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content": "Alice lives in Lyon.", "metadata": {"k": 1}}]},
    )

    content: str | None = Field(default=None, description="New text.")
    metadata: dict[str, Any] | None = Field(default=None, description="New metadata (replaces).")


class SearchRequestBody(_Request):
    """Body of ``POST /v1/search``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "Where does Alice live?", "user_id": "alice", "top_k": 5},
                {
                    "query": "What did we plan last week?",
                    "user_id": "alice",
                    "kinds": ["fact", "event"],
                    "context_tokens": 400,
                },
            ]
        },
    )

    query: str = Field(examples=["Where does Alice live?"])
    user_id: str | None = _scope_field()
    agent_id: str | None = _scope_field()
    session_id: str | None = _scope_field()
    top_k: int | None = Field(default=None, ge=1, description="Hits to return (server limit).")
    kinds: list[MemoryKind] | None = Field(default=None, max_length=5)
    as_of: datetime | None = Field(default=None, description="Answer as of this time.")
    include_inactive: bool = False
    filters: dict[str, Any] | None = Field(default=None, description="Metadata equality filters.")
    rounds: int | None = Field(default=None, ge=1, le=8)
    context_tokens: int | None = Field(default=None, ge=1, le=100_000)


class ConsolidateRequest(_Request):
    """Body of ``POST /v1/consolidate``: the scope to consolidate now."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"user_id": "alice"}]}
    )

    user_id: str | None = _scope_field()
    agent_id: str | None = _scope_field()
    session_id: str | None = _scope_field()


class ApiKeyCreate(_Request):
    """Body of ``POST /v1/admin/keys``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"namespace": "acme", "name": "backend"}]}
    )

    namespace: str = Field(min_length=1, max_length=128, description="Tenant (created if new).")
    name: str = Field(default="default", min_length=1, max_length=128)
    is_admin: bool = Field(default=False, description="May call the admin routes.")


# -- responses ----------------------------------------------------------------------------


class MemoryPublic(_Response):
    """A stored memory of any kind."""

    id: str = Field(examples=["fact_12"])
    kind: KindName
    content: str
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    role: str | None = None
    speaker: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    status: str = "active"
    source_event_ids: list[str] = Field(default_factory=list, description="Provenance: event ids.")
    episode_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_record(cls, record: MemoryRecord) -> MemoryPublic:
        """From the domain record."""
        attrs = {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in record.attributes.items()
        }
        return cls(
            id=str(record.ref),
            kind=record.ref.kind.value,
            content=record.content,
            user_id=record.scope.user_id,
            agent_id=record.scope.agent_id,
            session_id=record.scope.session_id,
            role=record.role,
            speaker=record.speaker,
            metadata=dict(record.metadata),
            occurred_at=record.occurred_at,
            created_at=record.created_at,
            updated_at=record.updated_at,
            valid_from=record.valid_from,
            valid_to=record.valid_to,
            status=record.status,
            source_event_ids=[f"event_{i}" for i in record.source_event_ids],
            episode_id=f"episode_{record.episode_id}" if record.episode_id else None,
            attributes=attrs,
        )


class AddResponse(_Response):
    """What ``add`` stored."""

    events: list[MemoryPublic]
    job_id: int | None = Field(default=None, description="The consolidation job queued.")

    @classmethod
    def from_result(cls, result: AddResult) -> AddResponse:
        """From the domain result."""
        return cls(
            events=[MemoryPublic.from_record(r) for r in result.events], job_id=result.job_id
        )


class MemoryPage(_Response):
    """A page of memories."""

    items: list[MemoryPublic]
    next_cursor: str | None = None

    @classmethod
    def from_page(cls, page: Page) -> MemoryPage:
        """From the domain page."""
        return cls(
            items=[MemoryPublic.from_record(r) for r in page.items], next_cursor=page.next_cursor
        )


class MemoryList(_Response):
    """Memories in a stated order (episodes newest first; tree nodes depth-first)."""

    items: list[MemoryPublic]

    @classmethod
    def from_records(cls, records: list[MemoryRecord]) -> MemoryList:
        """From domain records."""
        return cls(items=[MemoryPublic.from_record(r) for r in records])


EntityTypeName = Literal["person", "organisation", "place", "thing"]


class EntityPublic(_Response):
    """An entity of the graph and how many events and facts mention it."""

    id: int
    key: str = Field(description="The normalised name that identifies it in its scope.")
    name: str
    type: EntityTypeName
    events: int = Field(ge=0, description="Events mentioning it.")
    facts: int = Field(ge=0, description="Facts mentioning it (any status).")
    user_id: str | None = None
    agent_id: str | None = None

    @classmethod
    def from_entity(cls, entity: Entity) -> EntityPublic:
        """From the domain value."""
        return cls(
            id=entity.id,
            key=entity.key,
            name=entity.name,
            type=entity.type,  # type: ignore[arg-type]
            events=entity.events,
            facts=entity.facts,
            user_id=entity.scope.user_id,
            agent_id=entity.scope.agent_id,
        )


class EntityList(_Response):
    """Entities, most mentioned first."""

    items: list[EntityPublic]

    @classmethod
    def from_entities(cls, entities: list[Entity]) -> EntityList:
        """From domain values."""
        return cls(items=[EntityPublic.from_entity(e) for e in entities])


class ProfileResponse(_Response):
    """A scope's profile summary; ``null`` until consolidation has built one."""

    profile: MemoryPublic | None = None

    @classmethod
    def from_record(cls, record: MemoryRecord | None) -> ProfileResponse:
        """From the domain record (or its absence)."""
        return cls(profile=MemoryPublic.from_record(record) if record is not None else None)


class DeleteAllResponse(_Response):
    """How many memories a scope erase removed, and what it did per store.

    ``counts`` holds ``deleted_<kind>``, ``stale`` (recomputed from other sources), ``history``,
    ``lineage``, ``jobs_cancelled``; after a purge also ``recomputed``, ``jobs_deleted``,
    ``embedding_cache``, ``index_terms_dropped``, ``sqlite`` and, when asked, ``verify``.
    """

    deleted: int = Field(ge=0)
    counts: dict[str, Any] = Field(default_factory=dict)


class HitPublic(_Response):
    """One search hit."""

    memory: MemoryPublic
    score: float
    score_parts: dict[str, float] = Field(default_factory=dict)
    source_refs: list[str] = Field(
        default_factory=list, description="The client's own ids (metadata 'ref') of the sources."
    )

    @property
    def id(self) -> str:
        """The memory id."""
        return self.memory.id

    @classmethod
    def from_hit(cls, hit: Hit) -> HitPublic:
        """From the domain hit."""
        return cls(
            memory=MemoryPublic.from_record(hit.record),
            score=hit.score,
            score_parts=dict(hit.score_parts),
            source_refs=list(hit.source_refs),
        )


class SearchResponse(_Response):
    """Search results."""

    hits: list[HitPublic]
    context: str | None = None
    rounds: int = 1
    took_ms: float = 0.0

    @classmethod
    def from_result(cls, result: SearchResult) -> SearchResponse:
        """From the domain result."""
        return cls(
            hits=[HitPublic.from_hit(h) for h in result.hits],
            context=result.context,
            rounds=result.rounds,
            took_ms=result.took_ms,
        )


class HistoryEntryPublic(_Response):
    """One change to a memory."""

    id: int
    memory_id: str
    operation: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str = ""
    actor: str = "system"
    created_at: datetime

    @classmethod
    def from_entry(cls, entry: HistoryEntry) -> HistoryEntryPublic:
        """From the domain entry."""
        return cls(
            id=entry.id,
            memory_id=entry.memory_id,
            operation=entry.operation,
            before=dict(entry.before) if entry.before is not None else None,
            after=dict(entry.after) if entry.after is not None else None,
            reason=entry.reason,
            actor=entry.actor,
            created_at=entry.created_at,
        )


class HistoryList(_Response):
    """A memory's changes, oldest first."""

    items: list[HistoryEntryPublic]


class _JobLike(Protocol):
    """What :meth:`JobPublic.from_job` reads (``memsvc.store.jobs.JobRow`` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def scope(self) -> Scope: ...
    @property
    def status(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def requested_at(self) -> datetime: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...


class JobPublic(_Response):
    """A consolidation job."""

    id: int
    kind: str = "consolidate"
    status: Literal["pending", "running", "done", "failed", "cancelled"]
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    requested_at: datetime
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def from_job(cls, job: _JobLike) -> JobPublic:
        """From the store's job row."""
        return cls(
            id=job.id,
            kind=job.kind,
            status=str(job.status),  # type: ignore[arg-type]
            user_id=job.scope.user_id,
            agent_id=job.scope.agent_id,
            session_id=job.scope.session_id,
            attempts=job.attempts,
            last_error=job.last_error,
            requested_at=job.requested_at,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )


class StatsPublic(_Response):
    """A namespace's counts, index sizes, queue depth and LLM usage."""

    namespace: str
    memories: dict[str, int] = Field(default_factory=dict, description="Rows per memory kind.")
    index: dict[str, int] = Field(default_factory=dict, description="dense, sparse, applied_seq.")
    jobs: dict[str, int] = Field(default_factory=dict, description="Jobs per status.")
    queue_lag_s: float = 0.0
    consolidation_lag_s: dict[str, float | int | None] = Field(default_factory=dict)
    llm: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> StatsPublic:
        """From ``MemoryService.stats``."""
        return cls.model_validate(dict(stats))


class ApiKeyCreated(_Response):
    """A new API key. ``secret`` is shown once and never stored."""

    id: int
    namespace: str
    name: str
    secret: str
    is_admin: bool


class ApiKeyPublic(_Response):
    """An API key without its secret."""

    id: int
    namespace: str
    name: str
    prefix: str
    is_admin: bool
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class ApiKeyList(_Response):
    """API keys without secrets."""

    items: list[ApiKeyPublic]


class ApiKeyRevoked(_Response):
    """The outcome of a revocation."""

    id: int
    revoked: bool = Field(description="False when no live key had this id.")


class HealthResponse(_Response):
    """Liveness (``/healthz``) or readiness (``/readyz``) of the server."""

    status: Literal["ok", "unavailable"]


class ReadyResponse(HealthResponse):
    """Readiness with the result of each check."""

    checks: dict[str, str] = Field(default_factory=dict)


class ErrorBody(_Response):
    """The error object."""

    code: str = Field(examples=["memory_not_found"])
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(_Response):
    """Every error response: ``{"error": {"code", "message", "detail"}}``."""

    error: ErrorBody


# -- answer (the reader, memsvc[reader]) ----------------------------------------------------

ModeName = Literal["kv", "attention", "inject", "prompt", "none"]


class CitationPublic(BaseModel):
    """A memory the answer attended to."""

    model_config = ConfigDict(extra="forbid")

    memory_id: str = Field(examples=["fact_12"])
    content: str
    weight: float = Field(description="Share of the attention the memories received.")


class AnswerResponse(BaseModel):
    """An answer read from the scope's memories, with what it attended to."""

    model_config = ConfigDict(extra="forbid")

    answer: str
    mode: str
    citations: list[CitationPublic] = Field(default_factory=list)
    retrieved: list[str] = Field(default_factory=list, description="Memory ids read, best first.")
    memory_tokens: int = 0
    ttft_ms: float = Field(default=0.0, description="Reader time to the first answer token.")
    took_ms: float = Field(default=0.0, description="Retrieval and reading, end to end.")


class AnswerRequestBody(BaseModel):
    """``POST /v1/answer``."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    user_id: str | None = Field(default=None, max_length=128)
    agent_id: str | None = Field(default=None, max_length=128)
    session_id: str | None = Field(default=None, max_length=128)
    memories: int | None = Field(default=None, ge=1, le=200, description="Memories to read.")
    mode: ModeName | None = Field(default=None, description="Reader mode (default: configured).")
