"""Domain values: scopes, memories, search hits and decisions.

Frozen dataclasses with no I/O; stdlib only. Times are timezone-aware UTC ``datetime`` values
named ``*_at``. Memory ids seen by users are strings ``"<kind>_<row id>"`` (``"fact_12"``), see
:class:`MemoryRef`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from memsvc.errors import InvalidInput, InvalidScope, MemoryNotFound

__all__ = [
    "AddResult",
    "Decision",
    "DecisionOp",
    "Entity",
    "Event",
    "FactCandidate",
    "FactStatus",
    "HistoryEntry",
    "Hit",
    "KnownFact",
    "MemoryKind",
    "MemoryRecord",
    "MemoryRef",
    "Message",
    "Page",
    "Scope",
    "SearchResult",
    "SummaryKind",
    "Turn",
    "ValueType",
    "utc",
    "utcnow",
]

_SCOPE_VALUE = re.compile(r"^[\w.@:+\-/]{1,128}$", re.UNICODE)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class MemoryKind(enum.StrEnum):
    """The kinds of memory that are stored and searchable."""

    EVENT = "event"
    EPISODE = "episode"
    FACT = "fact"
    SUMMARY = "summary"
    TREE_NODE = "tree_node"

    @property
    def code(self) -> int:
        """A small stable integer for compact index tags."""
        return _KIND_CODES[self]


_KIND_CODES = {
    MemoryKind.EVENT: 0,
    MemoryKind.EPISODE: 1,
    MemoryKind.FACT: 2,
    MemoryKind.SUMMARY: 3,
    MemoryKind.TREE_NODE: 4,
}


class FactStatus(enum.StrEnum):
    """Lifecycle of a fact. Nothing but an explicit delete removes a row."""

    ACTIVE = "active"
    SUPERSEDED = "superseded"
    FORGOTTEN = "forgotten"
    DELETED = "deleted"


class ValueType(enum.StrEnum):
    """What the value of a fact's (subject, relation, value) triple is."""

    PERSON = "person"
    PLACE = "place"
    ORGANISATION = "organisation"
    DATE = "date"
    QUANTITY = "quantity"
    THING = "thing"


class SummaryKind(enum.StrEnum):
    """What a summary row summarises."""

    EPISODE = "episode"
    SESSION = "session"
    DAY = "day"
    PROFILE = "profile"


class DecisionOp(enum.StrEnum):
    """What the update policy does with a candidate fact (ALGORITHMS.md §5)."""

    ADD = "add"
    MERGE = "merge"
    UPDATE = "update"
    INVALIDATE = "invalidate"


@dataclass(frozen=True, slots=True)
class MemoryRef:
    """A typed reference to one stored memory: its kind and its database id."""

    kind: MemoryKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind.value}_{self.id}"

    @classmethod
    def parse(cls, text: str) -> MemoryRef:
        """Parse ``"fact_12"``; raise :class:`MemoryNotFound` for anything else.

        A malformed id can never name a stored memory, so it is reported exactly like an unknown
        one (a guessed id must not reveal anything).
        """
        head, sep, tail = str(text).rpartition("_")
        try:
            kind = MemoryKind(head)
            row_id = int(tail)
        except ValueError:
            raise MemoryNotFound("no memory with this id", detail={"id": str(text)[:80]}) from None
        if not sep or not tail.isdigit() or not 0 < row_id < 2**56:
            raise MemoryNotFound("no memory with this id", detail={"id": str(text)[:80]})
        return cls(kind, row_id)


@dataclass(frozen=True, slots=True)
class Scope:
    """Who a memory belongs to. At least one key is required on every call.

    A search with a scope matches memories whose given keys are equal; keys left ``None`` are not
    filtered on.
    """

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None

    def __post_init__(self) -> None:
        values = (self.user_id, self.agent_id, self.session_id)
        if all(v is None for v in values):
            raise InvalidScope("at least one of user_id, agent_id, session_id is required")
        for name, value in zip(("user_id", "agent_id", "session_id"), values, strict=True):
            if value is None:
                continue
            if not isinstance(value, str) or not _SCOPE_VALUE.match(value):
                raise InvalidScope(
                    f"{name} must be 1-128 characters of letters, digits and ._@:+-/",
                    detail={"field": name},
                )

    def as_dict(self) -> dict[str, str]:
        """The keys that are set."""
        out = {}
        for name in ("user_id", "agent_id", "session_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def contains(self, other: Scope) -> bool:
        """Whether a memory stored under ``other`` matches this scope used as a filter."""
        return all(
            getattr(self, name) is None or getattr(self, name) == getattr(other, name)
            for name in ("user_id", "agent_id", "session_id")
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One input message: a chat turn or an observation."""

    content: str
    role: str = "user"
    name: str | None = None

    @classmethod
    def coerce(cls, value: Any) -> Message:
        """Accept a string, a ``{"role", "content", "name"?}`` mapping or a Message."""
        if isinstance(value, Message):
            return value
        if isinstance(value, str):
            return cls(content=value)
        if isinstance(value, Mapping):
            content = value.get("content")
            if not isinstance(content, str):
                raise InvalidInput("each message needs a string 'content'")
            role = value.get("role", "user")
            name = value.get("name")
            if not isinstance(role, str) or (name is not None and not isinstance(name, str)):
                raise InvalidInput("message 'role' and 'name' must be strings")
            return cls(content=content, role=role, name=name)
        raise InvalidInput("messages must be a string, a message object or a list of them")


@dataclass(frozen=True, slots=True)
class Turn:
    """One stored event as the consolidation and LLM tasks see it."""

    event_id: int
    speaker: str
    role: str
    text: str
    occurred_at: datetime
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One raw turn or observation (episodic memory)."""

    id: int
    scope: Scope
    role: str
    speaker: str | None
    content: str
    occurred_at: datetime
    ingested_at: datetime
    episode_id: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FactCandidate:
    """A fact extracted from an episode, before the update policy has decided on it.

    The triple, where the text allows one: ``subject`` (a named person), ``relation`` (the
    normalised relation, e.g. ``lives_in``), ``object`` (the value) of ``value_type``;
    ``predicate`` is the relation phrase as written ("moved to"). ``occurred_at`` is when the
    fact became true (the time the text gives, else the turn's time).

    ``negated``: the text says the triple no longer holds ("I don't live in Oslo anymore").
    ``cue``: ``"change"`` when the text says a value replaces another ("now", "moved",
    "no longer"), ``"addition"`` when it says a value joins others ("another", "also").
    ``single_valued``: whether the relation holds one value at a time, when known (set by the
    consolidation from configuration and evidence; ``None`` leaves it to the decision).
    """

    text: str
    source_event_ids: tuple[int, ...]
    occurred_at: datetime
    subject: str | None = None
    predicate: str | None = None
    object: str | None = None
    importance: float = 0.5
    relation: str | None = None
    value_type: ValueType | None = None
    negated: bool = False
    cue: str | None = None
    single_valued: bool | None = None


@dataclass(frozen=True, slots=True)
class KnownFact:
    """An existing active fact shown to the update policy, with its similarity to the candidate."""

    id: int
    text: str
    valid_from: datetime
    similarity: float
    subject: str | None = None
    predicate: str | None = None
    object: str | None = None
    relation: str | None = None
    value_type: ValueType | None = None
    #: Similarity of the relation phrases with the values masked (``None``: not compared).
    relation_similarity: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The update policy's verdict on a candidate against existing facts.

    ``target_id`` names the existing fact that is merged into, updated or invalidated (``None``
    for ADD). ``text`` is the text to store for UPDATE (the refined fact); ``reason`` is
    human-readable and goes to history.
    """

    op: DecisionOp
    reason: str
    target_id: int | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the memory, its score and the parts of the score.

    ``source_refs`` are the client's own ids of the source events (``metadata["ref"]`` given at
    add time, e.g. LoCoMo dia_ids), so a caller can map a hit back to its own records.
    """

    record: MemoryRecord
    score: float
    score_parts: Mapping[str, float] = field(default_factory=dict)
    source_refs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The public memory id."""
        return str(self.record.ref)

    @property
    def kind(self) -> MemoryKind:
        """The memory kind."""
        return self.record.ref.kind


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """A stored memory of any kind, in one uniform shape (what get/get_all/search return).

    ``attributes`` holds the kind-specific fields: for facts subject/predicate/object,
    relation, value_type (the triple), importance, strength, recall_count, last_recalled_at,
    superseded_by; for events outdated_by (``"fact_N"`` when a fact this event stated was
    superseded by fact N: the event states an outdated value), and role and speaker are also
    top-level; for tree nodes parent_id, depth, child_count.
    """

    ref: MemoryRef
    scope: Scope
    content: str
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    role: str | None = None
    speaker: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    status: str = FactStatus.ACTIVE.value
    source_event_ids: tuple[int, ...] = ()
    episode_id: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The public memory id."""
        return str(self.ref)

    @property
    def kind(self) -> MemoryKind:
        """The memory kind."""
        return self.ref.kind

    def is_valid_at(self, when: datetime) -> bool:
        """Whether this memory was true at ``when`` (bi-temporal validity; events always are)."""
        start = self.valid_from or self.occurred_at
        return start <= when and (self.valid_to is None or self.valid_to > when)


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity of the graph (person, organisation, place, thing) and how often it is mentioned.

    ``scope`` is its owner scope (entities, like facts, outlive sessions).
    """

    id: int
    key: str
    name: str
    type: str
    events: int
    facts: int
    scope: Scope


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change to a memory."""

    id: int
    memory_id: str
    operation: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    reason: str
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AddResult:
    """What ``add`` stored: the events (searchable at once) and the consolidation job queued."""

    events: list[MemoryRecord]
    job_id: int | None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of ``get_all``; pass ``next_cursor`` back to get the next page."""

    items: list[MemoryRecord]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits best first, and optionally a context string cut to a token budget."""

    hits: list[Hit]
    context: str | None = None
    rounds: int = 1
    took_ms: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)


def merge_ids(*groups: Sequence[int]) -> tuple[int, ...]:
    """Union of id groups, sorted and without duplicates."""
    return tuple(sorted({i for g in groups for i in g}))
