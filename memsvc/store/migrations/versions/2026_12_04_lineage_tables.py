"""Lineage (branch lineage, issue 12): what each derived memory came from, stale marks, erasures.

Fills ``lineage`` for existing data from what the rows already say: an event's ``episode_id``,
a fact's ``source_event_ids``, a tree node's ``fact_id``/``episode_id``/``parent_id``, a session
or day summary's events (through their episodes) and a profile's facts (the owner's active facts
whose source events the profile lists).

Revision ID: 7c1e0a4b9d21
Revises: 7c1e0b2f9a41
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e0a4b9d21"
down_revision: str | Sequence[str] | None = "7c1e0b2f9a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIMESTAMP = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

_LINEAGE = sa.table(
    "lineage",
    sa.column("namespace_id", sa.BigInteger),
    sa.column("derived_kind", sa.String),
    sa.column("derived_id", sa.BigInteger),
    sa.column("source_kind", sa.String),
    sa.column("source_id", sa.BigInteger),
)


def _ns_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["namespace_id"],
        ["namespace.id"],
        name=op.f(f"fk_{table}_namespace_id_namespace"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create the tables, then fill lineage from the existing rows."""
    op.create_table(
        "lineage",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("derived_kind", sa.String(length=16), nullable=False),
        sa.Column("derived_id", sa.BigInteger(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        _ns_fk("lineage"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage")),
        sa.UniqueConstraint(
            "namespace_id",
            "derived_kind",
            "derived_id",
            "source_kind",
            "source_id",
            name="edge",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_lineage_source", "lineage", ["namespace_id", "source_kind", "source_id"])
    op.create_table(
        "stale_memory",
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("memory_kind", sa.String(length=16), nullable=False),
        sa.Column("memory_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_key", sa.String(length=400), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("since", _TIMESTAMP, nullable=False),
        _ns_fk("stale_memory"),
        sa.PrimaryKeyConstraint(
            "namespace_id", "memory_kind", "memory_id", name=op.f("pk_stale_memory")
        ),
    )
    op.create_index("ix_stale_memory_owner", "stale_memory", ["namespace_id", "owner_key"])
    op.create_table(
        "erasure",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.BigInteger(), nullable=False),
        sa.Column("scope_hash", sa.String(length=64), nullable=False),
        sa.Column("purge", sa.Boolean(), nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        _ns_fk("erasure"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure")),
        sqlite_autoincrement=True,
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    """Drop the lineage tables."""
    op.drop_table("erasure")
    op.drop_index("ix_stale_memory_owner", table_name="stale_memory")
    op.drop_table("stale_memory")
    op.drop_index("ix_lineage_source", table_name="lineage")
    op.drop_table("lineage")


def _ids(value: Any) -> list[int]:
    if isinstance(value, str):
        value = json.loads(value)
    return [int(v) for v in value or []]


def _insert(bind: sa.Connection, edges: Iterable[tuple[int, str, int, str, int]]) -> None:
    batch: list[dict[str, Any]] = []
    seen: set[tuple[int, str, int, str, int]] = set()
    for edge in edges:
        if edge in seen:
            continue
        seen.add(edge)
        ns, dk, di, sk, si = edge
        batch.append(
            {
                "namespace_id": ns,
                "derived_kind": dk,
                "derived_id": di,
                "source_kind": sk,
                "source_id": si,
            }
        )
        if len(batch) >= 1000:
            bind.execute(sa.insert(_LINEAGE), batch)
            batch = []
    if batch:
        bind.execute(sa.insert(_LINEAGE), batch)


def _backfill(bind: sa.Connection) -> None:
    text = sa.text
    event_episode: dict[int, int] = {}
    events: set[int] = set()
    edges: list[tuple[int, str, int, str, int]] = []
    for ns, event_id, episode_id in bind.execute(
        text("SELECT namespace_id, id, episode_id FROM event")
    ):
        events.add(int(event_id))
        if episode_id is not None:
            event_episode[int(event_id)] = int(episode_id)
            edges.append((int(ns), "episode", int(episode_id), "event", int(event_id)))
    facts_by_owner: dict[tuple[int, str | None, str | None], list[tuple[int, set[int]]]] = (
        defaultdict(list)
    )
    for ns, fact_id, user, agent, status, sources in bind.execute(
        text("SELECT namespace_id, id, user_id, agent_id, status, source_event_ids FROM fact")
    ):
        ids = {i for i in _ids(sources) if i in events}
        edges.extend((int(ns), "fact", int(fact_id), "event", i) for i in sorted(ids))
        if status == "active":
            facts_by_owner[(int(ns), user, agent)].append((int(fact_id), ids))
    for ns, node_id, parent_id, fact_id, episode_id in bind.execute(
        text("SELECT namespace_id, id, parent_id, fact_id, episode_id FROM tree_node")
    ):
        if fact_id is not None:
            edges.append((int(ns), "tree_node", int(node_id), "fact", int(fact_id)))
        if episode_id is not None:
            edges.append((int(ns), "tree_node", int(node_id), "episode", int(episode_id)))
        if parent_id is not None:
            edges.append((int(ns), "tree_node", int(parent_id), "tree_node", int(node_id)))
    for ns, summary_id, user, agent, kind, sources in bind.execute(
        text("SELECT namespace_id, id, user_id, agent_id, kind, source_event_ids FROM summary")
    ):
        ids = set(_ids(sources))
        if kind == "profile":
            for fact_id, fact_events in facts_by_owner.get((int(ns), user, agent), []):
                if fact_events and fact_events <= ids:
                    edges.append((int(ns), "summary", int(summary_id), "fact", fact_id))
        else:
            episodes = {event_episode[i] for i in ids if i in event_episode}
            edges.extend((int(ns), "summary", int(summary_id), "episode", e) for e in episodes)
    _insert(bind, edges)
