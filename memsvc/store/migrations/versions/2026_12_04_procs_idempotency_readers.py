"""Idempotent adds and change-log readers.

``idempotency_key`` keeps the first reply to a request sent with an ``Idempotency-Key``, so a
retry whose first attempt was stored gets that reply and stores nothing. ``index_reader``
records how far each process's index cache has read the change log, so the log can be trimmed
below every live reader (and the trim point, so a reader behind it rebuilds).

Revision ID: 3f4d8a90c2b7
Revises: 7c1e0a4b9d21
Create Date: 2026-12-04 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3f4d8a90c2b7"
down_revision: str | Sequence[str] | None = "7c1e0a4b9d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "idempotency_key",
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("result", _JSON, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_idempotency_key_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace_id", "key", name=op.f("pk_idempotency_key")),
    )
    op.create_table(
        "index_reader",
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("reader_id", sa.String(length=200), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", _TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_index_reader_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace_id", "reader_id", name=op.f("pk_index_reader")),
    )


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_table("index_reader")
    op.drop_table("idempotency_key")
