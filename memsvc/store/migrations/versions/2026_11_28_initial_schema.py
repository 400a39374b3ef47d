"""Initial schema: every table of memsvc.store.tables.

Revision ID: dad0f95a53cc
Revises:
Create Date: 2026-11-28 15:27:44.236726
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "dad0f95a53cc"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's column types (never import memsvc.store.tables here).
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid is 64-bit
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema.

    Integer keys are AUTOINCREMENT on SQLite so that an id is never reused after a delete:
    history, provenance and the change log refer to memories by id.
    """
    op.create_table(
        "embedding_cache",
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("model", "text_hash", name=op.f("pk_embedding_cache")),
    )
    op.create_table(
        "namespace",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_namespace")),
        sa.UniqueConstraint("name", name=op.f("uq_namespace_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "api_key",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("revoked_at", _TIMESTAMP, nullable=True),
        sa.Column("last_used_at", _TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_api_key_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_api_key_prefix"), "api_key", ["prefix"])

    op.create_table(
        "change_log",
        sa.Column("seq", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("memory_kind", sa.String(length=16), nullable=False),
        sa.Column("memory_id", sa.BigInteger(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_change_log_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_log")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_change_log_ns_seq", "change_log", ["namespace_id", "seq"])

    op.create_table(
        "episode",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("ended_at", _TIMESTAMP, nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("boundary_reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_episode_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_episode_scope_time", "episode", ["namespace_id", "user_id", "started_at"])

    op.create_table(
        "history",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("memory_kind", sa.String(length=16), nullable=False),
        sa.Column("memory_id", sa.BigInteger(), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("before", _JSON, nullable=True),
        sa.Column("after", _JSON, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_history_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_history_memory", "history", ["namespace_id", "memory_kind", "memory_id"])

    op.create_table(
        "job",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("scope_key", sa.String(length=400), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_until", _TIMESTAMP, nullable=True),
        sa.Column("run_after", _TIMESTAMP, nullable=False),
        sa.Column("requested_at", _TIMESTAMP, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.Column("finished_at", _TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_job_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_job_claim", "job", ["status", "run_after"])
    op.create_index("ix_job_scope", "job", ["namespace_id", "scope_key", "status"])

    op.create_table(
        "summary",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("owner_key", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source_event_ids", _JSON, nullable=False),
        sa.Column("occurred_at", _TIMESTAMP, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_summary_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary")),
        sa.UniqueConstraint("namespace_id", "owner_key", "kind", "key", name="owner_kind_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "event",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("speaker", sa.String(length=128), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("occurred_at", _TIMESTAMP, nullable=False),
        sa.Column("ingested_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.Column("episode_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_event_episode_id_episode"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_event_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_event_pending", "event", ["namespace_id", "user_id", "agent_id", "episode_id"]
    )
    op.create_index("ix_event_scope_time", "event", ["namespace_id", "user_id", "occurred_at"])
    op.create_index("ix_event_session", "event", ["namespace_id", "session_id", "occurred_at"])

    op.create_table(
        "fact",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=True),
        sa.Column("predicate", sa.String(length=256), nullable=True),
        sa.Column("object", sa.Text(), nullable=True),
        sa.Column("source_event_ids", _JSON, nullable=False),
        sa.Column("episode_id", sa.BigInteger(), nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("importance", sa.Float(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("recall_count", sa.Integer(), nullable=False),
        sa.Column("last_recalled_at", _TIMESTAMP, nullable=True),
        sa.Column("valid_from", _TIMESTAMP, nullable=False),
        sa.Column("valid_to", _TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("superseded_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status in ('active', 'superseded', 'forgotten', 'deleted')",
            name=op.f("ck_fact_status"),
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_fact_episode_id_episode"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_fact_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by"],
            ["fact.id"],
            name=op.f("fk_fact_superseded_by_fact"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_fact_scope_status", "fact", ["namespace_id", "user_id", "status"])

    op.create_table(
        "tree_node",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("owner_key", sa.String(length=400), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("child_count", sa.Integer(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("fact_id", sa.BigInteger(), nullable=True),
        sa.Column("episode_id", sa.BigInteger(), nullable=True),
        sa.Column("source_event_ids", _JSON, nullable=False),
        sa.Column("occurred_at", _TIMESTAMP, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_tree_node_episode_id_episode"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fact_id"], ["fact.id"], name=op.f("fk_tree_node_fact_id_fact"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_tree_node_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["tree_node.id"],
            name=op.f("fk_tree_node_parent_id_tree_node"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tree_node")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tree_node_owner", "tree_node", ["namespace_id", "owner_key", "parent_id"])


def downgrade() -> None:
    """Drop every table, children first."""
    op.drop_table("tree_node")
    op.drop_table("fact")
    op.drop_table("event")
    op.drop_table("summary")
    op.drop_table("job")
    op.drop_table("history")
    op.drop_table("episode")
    op.drop_table("change_log")
    op.drop_table("api_key")
    op.drop_table("namespace")
    op.drop_table("embedding_cache")
