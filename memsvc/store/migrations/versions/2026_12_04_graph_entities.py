"""The entity graph: entities of an owner scope and the events and facts that mention them.

Revision ID: 7c41e9b0a2d5
Revises: 3f4d8a90c2b7
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c41e9b0a2d5"
down_revision: str | Sequence[str] | None = "3f4d8a90c2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's column types (never import memsvc.store.tables here).
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``entity`` and ``entity_mention``; mentions cascade with their event or fact."""
    op.create_table(
        "entity",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("owner_key", sa.String(length=400), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_entity_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity")),
        sa.UniqueConstraint("namespace_id", "owner_key", "key", name="owner_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "entity_mention",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_key", sa.String(length=400), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("fact_id", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "(event_id IS NULL) <> (fact_id IS NULL)", name=op.f("ck_entity_mention_one_source")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["entity.id"],
            name=op.f("fk_entity_mention_entity_id_entity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_entity_mention_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fact_id"],
            ["fact.id"],
            name=op.f("fk_entity_mention_fact_id_fact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_entity_mention_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_mention")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_entity_mention_owner", "entity_mention", ["namespace_id", "owner_key"])
    op.create_index("ix_entity_mention_entity", "entity_mention", ["entity_id"])
    op.create_index("ix_entity_mention_event", "entity_mention", ["event_id"])
    op.create_index("ix_entity_mention_fact", "entity_mention", ["fact_id"])


def downgrade() -> None:
    """Drop the graph tables, mentions first."""
    op.drop_table("entity_mention")
    op.drop_table("entity")
