"""Facts as triples: a normalised relation and a value type on facts; outdated events.

``fact.relation`` is the normalised relation of the fact's (subject, relation, value) triple
(``fact.subject`` and ``fact.object`` hold the subject and the value; ``fact.predicate`` keeps the
relation phrase as written); ``fact.value_type`` is one of person, place, organisation, date,
quantity, thing. ``event.outdated_by`` names the fact whose arrival made a fact stated by this
event superseded: the event states a value that is no longer true.

Revision ID: f4c7e2a9d1e3
Revises: 7c41e9b0a2d5
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4c7e2a9d1e3"
down_revision: str | Sequence[str] | None = "7c41e9b0a2d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the triple columns to ``fact`` and the outdated marker to ``event``."""
    with op.batch_alter_table("fact") as batch:
        batch.add_column(sa.Column("relation", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("value_type", sa.String(length=16), nullable=True))
        batch.create_index(
            "ix_fact_subject_relation", ["namespace_id", "user_id", "subject", "relation"]
        )
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("outdated_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("event") as batch:
        batch.drop_column("outdated_by")
    with op.batch_alter_table("fact") as batch:
        batch.drop_index("ix_fact_subject_relation")
        batch.drop_column("value_type")
        batch.drop_column("relation")
