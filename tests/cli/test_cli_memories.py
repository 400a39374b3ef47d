"""Memory commands on a real SQLite database: add, search, get, list, update, delete, history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Invoke = Callable[..., Any]


def test_add_stores_events_searchable_at_once(invoke: Invoke) -> None:
    added = invoke(
        "add", "I moved to Paris last week", "-u", "alice", "--name", "Alice",
        "--metadata", '{"ref": "D1:1"}', "--occurred-at", "2023-05-01T10:00:00Z", "--json",
    ).json  # fmt: skip
    event = added["events"][0]
    assert event["kind"] == "event"
    assert event["occurred_at"].startswith("2023-05-01T10:00:00")
    found = invoke("search", "Paris", "-u", "alice", "--json").json
    top = found["hits"][0]
    assert top["memory"]["id"] == event["id"]
    assert top["score"] > 0
    assert top["memory"]["metadata"] == {"ref": "D1:1"}


def test_search_human_output_shows_scores_kinds_and_provenance(invoke: Invoke) -> None:
    invoke("add", "I moved to Paris last week", "-u", "alice", "--metadata", '{"ref": "D1:1"}')
    out = invoke("search", "Paris", "-u", "alice", "--explain")
    assert "event" in out.stdout
    assert "ref D1:1" in out.stdout
    assert "hit(s) in" in out.stdout


def test_get_update_history_delete_round(invoke: Invoke) -> None:
    memory_id = invoke("add", "I like tea", "-u", "carol", "--json").json["events"][0]["id"]
    assert invoke("get", memory_id, "--json").json["content"] == "I like tea"
    updated = invoke("update", memory_id, "--content", "I like green tea", "--json").json
    assert updated["content"] == "I like green tea"
    history = invoke("history", memory_id, "--json").json
    assert [h["operation"] for h in history][-1] == "update"
    assert history[-1]["before"]["content"] == "I like tea"
    assert "History of" in invoke("history", memory_id).stdout
    invoke("delete", memory_id, "--json")
    gone = invoke("get", memory_id, code=1)
    assert gone.stderr.count("\n") == 1
    assert "memory_not_found" in gone.stderr


def test_list_pages_with_cursor(invoke: Invoke) -> None:
    invoke("add", "one", "two", "three", "-u", "dave")
    first = invoke("list", "-u", "dave", "--kind", "event", "--limit", "2", "--json").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = invoke(
        "list",
        "-u",
        "dave",
        "--kind",
        "event",
        "--limit",
        "2",
        "--cursor",
        first["next_cursor"],
        "--json",
    ).json
    assert [m["content"] for m in second["items"]] == ["one"]


def test_add_without_scope_is_one_line_error(invoke: Invoke) -> None:
    out = invoke("add", "hello", code=1)
    assert out.stdout == ""
    assert out.stderr.strip().count("\n") == 0
    assert "invalid_scope" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_option_value_is_one_line_usage_error(invoke: Invoke) -> None:
    out = invoke("add", "hi", "-u", "x", "--metadata", "[1, 2]", code=2)
    assert out.stderr.strip().count("\n") == 0
    assert "must be a JSON object" in out.stderr


def test_debug_shows_the_traceback(invoke: Invoke) -> None:
    from memsvc.errors import InvalidScope

    try:
        invoke("--debug", "add", "hello", code=None)
    except InvalidScope:
        return
    raise AssertionError("--debug should let the error through")


def test_url_with_database_only_command_is_refused(invoke: Invoke) -> None:
    out = invoke("--url", "http://127.0.0.1:9", "consolidate", "-u", "alice", code=1)
    assert "works on the database directly" in out.stderr
