"""prune: the dry run changes nothing; --yes forgets, removes and erases, and the indexes follow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Invoke = Callable[..., Any]


def _snapshot(invoke: Invoke, path: Path) -> list[dict[str, Any]]:
    invoke("export", str(path))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[0].pop("exported_at")
    return rows


def _facts(invoke: Invoke, *extra: str) -> list[dict[str, Any]]:
    out = invoke("list", "-u", "alice", "--kind", "fact", "--limit", "1000", *extra, "--json")
    items: list[dict[str, Any]] = out.json["items"]
    return items


def test_prune_dry_run_changes_nothing(
    invoke: Invoke, seeded: dict[str, Any], tmp_path: Path
) -> None:
    before = _snapshot(invoke, tmp_path / "before.jsonl")
    planned = invoke(
        "prune", "--forget-below", "1.0", "--older-than", "2999-01-01", "--json"
    ).json  # fmt: skip
    assert planned["dry_run"] is True
    assert planned["counts"]["forgotten"] == len(_facts(invoke)) + len(_facts(invoke, "-u", "bob"))
    assert _snapshot(invoke, tmp_path / "after.jsonl") == before
    human = invoke("prune", "--forget-below", "1.0")
    assert "dry run" in human.stdout and "--yes" in human.stdout


def test_prune_yes_forgets_then_removes_old_forgotten_facts(
    invoke: Invoke, seeded: dict[str, Any]
) -> None:
    facts = _facts(invoke)
    assert facts, "consolidation should have extracted facts"
    done = invoke("prune", "-u", "alice", "--forget-below", "1.0", "--yes", "--json").json
    assert done["dry_run"] is False
    assert done["counts"]["forgotten"] == len(facts)
    assert _facts(invoke) == []
    statuses = {f["status"] for f in _facts(invoke, "--include-inactive")}
    assert statuses == {"forgotten"}
    history = invoke("history", facts[0]["id"], "--json").json
    assert history[-1]["operation"] == "forget"
    removed = invoke(
        "prune", "-u", "alice", "--no-decay", "--older-than", "2999-01-01", "--yes", "--json"
    ).json  # fmt: skip
    assert removed["counts"]["removed_forgotten"] == len(facts)
    assert _facts(invoke, "--include-inactive") == []
    assert invoke("history", facts[0]["id"], "--json").json[-1]["reason"] == "pruned: forgotten"
    invoke("index", "verify")


def test_prune_erase_needs_a_scope_and_yes(invoke: Invoke, seeded: dict[str, Any]) -> None:
    assert "needs a scope" in invoke("prune", "--erase", code=1).stderr
    planned = invoke("prune", "--erase", "-u", "bob", "--json").json
    assert planned["dry_run"] is True and planned["counts"]["would_erase_event"] == 1
    assert len(invoke("list", "-u", "bob", "--kind", "event", "--json").json["items"]) == 1
    invoke("prune", "--erase", "-u", "bob", "--yes")
    assert invoke("list", "-u", "bob", "--kind", "event", "--json").json["items"] == []
    assert invoke("list", "-u", "alice", "--kind", "event", "--json").json["items"]


def test_prune_dry_run_and_yes_together_is_an_error(invoke: Invoke) -> None:
    out = invoke("prune", "--dry-run", "--yes", code=1)
    assert "contradict" in out.stderr
