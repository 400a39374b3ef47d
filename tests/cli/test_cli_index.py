"""index stats / verify / rebuild: drift planted behind the index's back is found and repaired."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

Invoke = Callable[..., Any]


def test_index_stats_reports_sizes(invoke: Invoke, seeded: dict[str, Any]) -> None:
    stats = invoke("index", "stats", "--json").json
    assert stats["dense_vectors"] >= 5
    assert stats["sparse_documents"] == stats["dense_vectors"]
    assert stats["behind"] == 0


def test_index_verify_detects_drift_and_rebuild_repairs_it(
    invoke: Invoke, seeded: dict[str, Any], db_path: Path
) -> None:
    assert invoke("index", "verify", "--json").json["ok"] is True
    with sqlite3.connect(db_path) as conn:  # behind the service's back: no change-log row
        conn.execute("PRAGMA foreign_keys = ON")  # as memsvc's own connections: mentions follow
        # not the newest row: SQLite would give its id to the planted one
        victim = conn.execute("SELECT min(id) FROM event").fetchone()[0]
        conn.execute("DELETE FROM event WHERE id = ?", (victim,))
        conn.execute(
            "INSERT INTO event (namespace_id, user_id, role, content, metadata, occurred_at,"
            " ingested_at, updated_at) SELECT namespace_id, 'eve', 'user', 'planted row', '{}',"
            " occurred_at, ingested_at, updated_at FROM event LIMIT 1"
        )
        planted = conn.execute("SELECT max(id) FROM event").fetchone()[0]
    drift = invoke("index", "verify", "--json", code=1).json
    assert drift["ok"] is False
    assert f"event_{victim}" in drift["extra"]
    assert f"event_{planted}" in drift["missing"]
    human = invoke("index", "verify", code=1)
    assert "drift found" in human.stdout
    rebuilt = invoke("index", "rebuild", "--json").json
    assert rebuilt["indexed"] >= 5
    assert invoke("index", "verify", "--json").json["ok"] is True
    hits = invoke("search", "planted row", "-u", "eve", "--json").json["hits"]
    assert hits and hits[0]["memory"]["id"] == f"event_{planted}"


def test_index_reembed_stores_every_memory_under_the_new_model_then_rebuilds(
    invoke: Invoke, seeded: dict[str, Any], db_path: Path
) -> None:
    new_model = ("-s", "embed.dim", "64")  # the hashing embedder's id names its size
    done = invoke(*new_model, "index", "reembed", "--json").json
    assert done["model"] == "hashing-v1-64"
    assert done["memories"] >= 5 and done["embedded"] >= 5
    with sqlite3.connect(db_path) as conn:
        by_model = dict(
            conn.execute("SELECT model, count(*) FROM embedding_cache GROUP BY model").fetchall()
        )
    assert by_model["hashing-v1-64"] == done["embedded"]
    assert by_model["hashing-v1-384"] > 0  # the old model's vectors stay for its servers
    stats = invoke(*new_model, "index", "stats", "--json").json
    assert stats["dense"]["dim"] == 64
    assert stats["dense_vectors"] == done["indexed"] or stats["dense_vectors"] >= 5
    again = invoke(*new_model, "index", "reembed", "--no-rebuild", "--json").json
    assert again["embedded"] == 0  # resumable: everything is stored already
