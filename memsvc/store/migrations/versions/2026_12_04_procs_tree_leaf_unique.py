"""One MemTree leaf per fact and per episode (unique tree_node.fact_id / episode_id).

Two consolidations of one owner running at once could give a fact two leaves; the unique
indexes make that impossible. Existing twins are folded first: the oldest leaf keeps the link,
the others become plain inner nodes (their content is re-aggregated by later insertions).

Revision ID: 7c1e0b2f9a41
Revises: dad0f95a53cc
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "7c1e0b2f9a41"
down_revision: str | Sequence[str] | None = "dad0f95a53cc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Fold twin leaves, then add the unique indexes."""
    for column in ("fact_id", "episode_id"):
        op.execute(
            f"UPDATE tree_node SET {column} = NULL WHERE {column} IS NOT NULL AND id NOT IN "
            f"(SELECT MIN(id) FROM tree_node WHERE {column} IS NOT NULL GROUP BY {column})"
        )
    op.create_index("uq_tree_node_fact_id", "tree_node", ["fact_id"], unique=True)
    op.create_index("uq_tree_node_episode_id", "tree_node", ["episode_id"], unique=True)


def downgrade() -> None:
    """Drop the unique indexes."""
    op.drop_index("uq_tree_node_episode_id", table_name="tree_node")
    op.drop_index("uq_tree_node_fact_id", table_name="tree_node")
