"""The domain model as SQLAlchemy tables (DESIGN.md, "Domain model").

Every row belongs to a namespace. Memory tables (event, episode, fact, summary, tree_node) carry
the scope columns so that filtering never needs a join. Times are stored timezone-aware and
always read back as aware UTC (:class:`UTCDateTime`).

The schema is created by the alembic migrations in ``migrations/`` only; a test checks that
these models and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from memsvc.types import utc

__all__ = [
    "ApiKey",
    "Base",
    "ChangeLog",
    "EmbeddingCache",
    "Entity",
    "EntityMention",
    "Episode",
    "Erasure",
    "Event",
    "Fact",
    "History",
    "IdempotencyKey",
    "IndexReader",
    "Job",
    "Lineage",
    "Namespace",
    "StaleMemory",
    "Summary",
    "TreeNode",
    "metadata",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# SQLite's INTEGER PRIMARY KEY is a 64-bit rowid; PostgreSQL needs BIGINT to be the same.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that always reads back as aware UTC (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return utc(value)

    def process_result_value(
        self,
        value: datetime | None,
        dialect: sa.Dialect,  # noqa: ARG002
    ) -> datetime | None:
        if value is None:
            return None
        return utc(value)


class Base(DeclarativeBase):
    """Declarative base bound to :data:`metadata`."""

    metadata = metadata
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[int]: JSONType,
    }


def _pk() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def _ns() -> Mapped[int]:
    return mapped_column(
        sa.BigInteger, sa.ForeignKey("namespace.id", ondelete="CASCADE"), nullable=False
    )


def _scope_col() -> Mapped[str | None]:
    return mapped_column(sa.String(128), nullable=True)


class Namespace(Base):
    """A tenant. Every other row belongs to one."""

    __tablename__ = "namespace"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    created_at: Mapped[datetime]


class ApiKey(Base):
    """An API key of a namespace; only its SHA-256 hash is stored."""

    __tablename__ = "api_key"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    name: Mapped[str] = mapped_column(sa.String(128))
    prefix: Mapped[str] = mapped_column(sa.String(16), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Event(Base):
    """One raw turn or observation (episodic memory)."""

    __tablename__ = "event"
    __table_args__ = (
        sa.Index("ix_event_scope_time", "namespace_id", "user_id", "occurred_at"),
        sa.Index("ix_event_pending", "namespace_id", "user_id", "agent_id", "episode_id"),
        sa.Index("ix_event_session", "namespace_id", "session_id", "occurred_at"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    user_id: Mapped[str | None] = _scope_col()
    agent_id: Mapped[str | None] = _scope_col()
    session_id: Mapped[str | None] = _scope_col()
    role: Mapped[str] = mapped_column(sa.String(32))
    speaker: Mapped[str | None] = mapped_column(sa.String(128))
    content: Mapped[str] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    occurred_at: Mapped[datetime]
    ingested_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    episode_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("episode.id", ondelete="SET NULL"), nullable=True
    )
    #: The fact whose arrival superseded a fact this event stated: the event now states an
    #: outdated value (derived by consolidation; ``None`` while everything it said holds).
    outdated_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class Episode(Base):
    """A run of consecutive events of one scope, cut by surprise (EM-LLM)."""

    __tablename__ = "episode"
    __table_args__ = (
        sa.Index("ix_episode_scope_time", "namespace_id", "user_id", "started_at"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    user_id: Mapped[str | None] = _scope_col()
    agent_id: Mapped[str | None] = _scope_col()
    session_id: Mapped[str | None] = _scope_col()
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    event_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    boundary_reason: Mapped[str] = mapped_column(sa.String(32), default="surprise")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Fact(Base):
    """One atomic fact, bi-temporal: valid_from/valid_to in event time, created_at in system
    time.

    Where the text allows, the fact is a triple: ``subject`` (a named person), ``relation`` (the
    normalised relation, e.g. ``lives_in``; ``predicate`` keeps the phrase as written, e.g.
    ``moved to``), ``object`` (the value) and ``value_type`` (person, place, organisation, date,
    quantity or thing). All four are ``None`` for a fact that is not a triple.
    """

    __tablename__ = "fact"
    __table_args__ = (
        sa.Index("ix_fact_scope_status", "namespace_id", "user_id", "status"),
        sa.Index("ix_fact_subject_relation", "namespace_id", "user_id", "subject", "relation"),
        sa.CheckConstraint(
            "status in ('active', 'superseded', 'forgotten', 'deleted')", name="status"
        ),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    user_id: Mapped[str | None] = _scope_col()
    agent_id: Mapped[str | None] = _scope_col()
    session_id: Mapped[str | None] = _scope_col()
    text: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str | None] = mapped_column(sa.String(256))
    predicate: Mapped[str | None] = mapped_column(sa.String(256))
    object: Mapped[str | None] = mapped_column(sa.Text)
    relation: Mapped[str | None] = mapped_column(sa.String(128))
    value_type: Mapped[str | None] = mapped_column(sa.String(16))
    source_event_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    episode_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("episode.id", ondelete="SET NULL"), nullable=True
    )
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    importance: Mapped[float] = mapped_column(sa.Float, default=0.5)
    strength: Mapped[float] = mapped_column(sa.Float, default=1.0)
    recall_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_recalled_at: Mapped[datetime | None]
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    superseded_by: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("fact.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Summary(Base):
    """A summary of an episode, a session or a day, or a user's profile (MemoryBank's portrait)."""

    __tablename__ = "summary"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "owner_key", "kind", "key", name="owner_kind_key"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    user_id: Mapped[str | None] = _scope_col()
    agent_id: Mapped[str | None] = _scope_col()
    session_id: Mapped[str | None] = _scope_col()
    owner_key: Mapped[str] = mapped_column(sa.String(400))
    kind: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(256))
    content: Mapped[str] = mapped_column(sa.Text)
    source_event_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TreeNode(Base):
    """A MemTree node. The root has depth 0 and no content; leaves point at a fact or episode."""

    __tablename__ = "tree_node"
    __table_args__ = (
        sa.Index("ix_tree_node_owner", "namespace_id", "owner_key", "parent_id"),
        # One leaf per fact and per episode: a consolidation applied twice cannot grow a twin.
        sa.Index("uq_tree_node_fact_id", "fact_id", unique=True),
        sa.Index("uq_tree_node_episode_id", "episode_id", unique=True),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    user_id: Mapped[str | None] = _scope_col()
    agent_id: Mapped[str | None] = _scope_col()
    session_id: Mapped[str | None] = _scope_col()
    owner_key: Mapped[str] = mapped_column(sa.String(400))
    parent_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("tree_node.id", ondelete="CASCADE"), nullable=True
    )
    depth: Mapped[int] = mapped_column(sa.Integer, default=0)
    content: Mapped[str] = mapped_column(sa.Text, default="")
    child_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    entry_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    fact_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("fact.id", ondelete="CASCADE"), nullable=True
    )
    episode_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("episode.id", ondelete="CASCADE"), nullable=True
    )
    source_event_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class History(Base):
    """Every change to a memory: before, after, operation, reason, actor, time."""

    __tablename__ = "history"
    __table_args__ = (
        sa.Index("ix_history_memory", "namespace_id", "memory_kind", "memory_id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    memory_kind: Mapped[str] = mapped_column(sa.String(16))
    memory_id: Mapped[int] = mapped_column(sa.BigInteger)
    operation: Mapped[str] = mapped_column(sa.String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor: Mapped[str] = mapped_column(sa.String(64), default="system")
    created_at: Mapped[datetime]


class ChangeLog(Base):
    """Monotonically numbered index-relevant changes; index sync and replicas tail it."""

    __tablename__ = "change_log"
    __table_args__ = (
        sa.Index("ix_change_log_ns_seq", "namespace_id", "seq"),
        {"sqlite_autoincrement": True},
    )
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _ns()
    memory_kind: Mapped[str] = mapped_column(sa.String(16))
    memory_id: Mapped[int] = mapped_column(sa.BigInteger)
    op: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime]


class Job(Base):
    """A consolidation job. One pending job per (namespace, scope): adds coalesce into it."""

    __tablename__ = "job"
    __table_args__ = (
        sa.Index("ix_job_claim", "status", "run_after"),
        sa.Index("ix_job_scope", "namespace_id", "scope_key", "status"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    kind: Mapped[str] = mapped_column(sa.String(32), default="consolidate")
    scope_key: Mapped[str] = mapped_column(sa.String(400))
    user_id: Mapped[str | None] = _scope_col()
    agent_id: Mapped[str | None] = _scope_col()
    session_id: Mapped[str | None] = _scope_col()
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    run_after: Mapped[datetime]
    requested_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class EmbeddingCache(Base):
    """Vectors by (model, text hash): no text is embedded twice, and rebuilds are cheap."""

    __tablename__ = "embedding_cache"
    model: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(sa.Integer)
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]


class Lineage(Base):
    """One edge "derived memory <- its source" (memsvc.store.lineage); kinds are plain strings,
    so tables of other modules (the entity graph) can record their rows' sources here too."""

    __tablename__ = "lineage"
    __table_args__ = (
        sa.UniqueConstraint(
            "namespace_id", "derived_kind", "derived_id", "source_kind", "source_id", name="edge"
        ),
        sa.Index("ix_lineage_source", "namespace_id", "source_kind", "source_id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    derived_kind: Mapped[str] = mapped_column(sa.String(16))
    derived_id: Mapped[int] = mapped_column(sa.BigInteger)
    source_kind: Mapped[str] = mapped_column(sa.String(16))
    source_id: Mapped[int] = mapped_column(sa.BigInteger)


class StaleMemory(Base):
    """A derived memory whose sources changed: out of the indexes until it is recomputed."""

    __tablename__ = "stale_memory"
    __table_args__ = (sa.Index("ix_stale_memory_owner", "namespace_id", "owner_key"),)
    namespace_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("namespace.id", ondelete="CASCADE"), primary_key=True
    )
    memory_kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    memory_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    owner_key: Mapped[str] = mapped_column(sa.String(400))
    mode: Mapped[str] = mapped_column(sa.String(16))
    since: Mapped[datetime]


class Erasure(Base):
    """A content-free record that a scope was erased: when, how, and how much per store."""

    __tablename__ = "erasure"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    scope_hash: Mapped[str] = mapped_column(sa.String(64))
    purge: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]


class IdempotencyKey(Base):
    """The first reply to a request sent with an ``Idempotency-Key``: a repeat returns it."""

    __tablename__ = "idempotency_key"
    namespace_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("namespace.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime]


class IndexReader(Base):
    """A process whose index cache tails a namespace's change log, and how far it got.

    The change log is trimmed below the smallest ``applied_seq`` of the live readers; the row
    with ``reader_id`` ``"#trimmed"`` records the trim point, so a reader that comes back
    behind it knows to rebuild instead of missing changes.
    """

    __tablename__ = "index_reader"
    namespace_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("namespace.id", ondelete="CASCADE"), primary_key=True
    )
    reader_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    applied_seq: Mapped[int] = mapped_column(sa.BigInteger)
    seen_at: Mapped[datetime]


class Entity(Base):
    """An entity (person, place, organisation, thing) of an owner scope; derived (memsvc.graph).

    ``key`` is the normalised name that identifies it in its owner scope; it lives as long as
    some event or fact mentions it (:class:`EntityMention`).
    """

    __tablename__ = "entity"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "owner_key", "key", name="owner_key"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    user_id: Mapped[str | None] = _scope_col()
    agent_id: Mapped[str | None] = _scope_col()
    session_id: Mapped[str | None] = _scope_col()
    owner_key: Mapped[str] = mapped_column(sa.String(400))
    key: Mapped[str] = mapped_column(sa.String(256))
    name: Mapped[str] = mapped_column(sa.String(256))
    type: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EntityMention(Base):
    """An event or a fact mentioning an entity: the edges of the entity graph.

    Deleting the event or fact deletes its mentions (``ON DELETE CASCADE``), whichever path
    deletes it.
    """

    __tablename__ = "entity_mention"
    __table_args__ = (
        sa.Index("ix_entity_mention_owner", "namespace_id", "owner_key"),
        sa.Index("ix_entity_mention_entity", "entity_id"),
        sa.Index("ix_entity_mention_event", "event_id"),
        sa.Index("ix_entity_mention_fact", "fact_id"),
        sa.CheckConstraint("(event_id IS NULL) <> (fact_id IS NULL)", name="one_source"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = _pk()
    namespace_id: Mapped[int] = _ns()
    owner_key: Mapped[str] = mapped_column(sa.String(400))
    entity_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("entity.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("event.id", ondelete="CASCADE"), nullable=True
    )
    fact_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("fact.id", ondelete="CASCADE"), nullable=True
    )
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
