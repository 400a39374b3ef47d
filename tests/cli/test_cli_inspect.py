"""inspect USER: facts with validity and retention, episodes, summaries, profile, the MemTree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Invoke = Callable[..., Any]


def test_inspect_json_has_every_section(invoke: Invoke, seeded: dict[str, Any]) -> None:
    data = invoke("inspect", "alice", "--json").json
    assert data["scope"] == {"user_id": "alice"}
    assert data["facts"], "consolidation should have extracted facts"
    for fact in data["facts"]:
        assert 0 < fact["retention"] <= 1
        assert fact["valid_from"]
    assert data["episodes"]
    assert isinstance(data["tree"], list)
    assert all("children" in node for node in data["tree"])


def test_inspect_draws_the_tree(invoke: Invoke, seeded: dict[str, Any]) -> None:
    out = invoke("inspect", "alice")
    for title in ("Facts", "Episodes", "Summaries", "MemTree of alice"):
        assert title in out.stdout


def test_inspect_unknown_user_is_empty_not_an_error(invoke: Invoke) -> None:
    data = invoke("inspect", "nobody", "--json").json
    assert data["facts"] == [] and data["tree"] == []
