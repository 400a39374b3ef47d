"""``memsvc erase``: a purge from the command line, counts as a table or JSON, --verify."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Invoke = Callable[..., Any]


def test_erase_purges_a_session_and_verifies(invoke: Invoke, db_path: Path) -> None:
    invoke("add", "-u", "alice", "-S", "s1", "My diary password is plumtree9081")
    invoke("add", "-u", "alice", "-S", "s2", "I like sailing on Lake Garda")
    invoke("consolidate", "-u", "alice")
    out = invoke("erase", "--user", "alice", "--session", "s1", "--verify", "--json").json
    assert out["deleted_event"] == 1 and out["verify"]["clean"]
    assert b"plumtree9081" not in db_path.read_bytes()
    table = invoke("erase", "--user", "alice", "--verify").stdout
    assert "Erased (per store)" in table and "Verification" in table
    assert invoke("search", "sailing", "-u", "alice", "--json").json["hits"] == []


def test_erase_without_a_scope_is_one_line_and_non_zero(invoke: Invoke) -> None:
    run = invoke("erase", code=None)
    assert run.exit_code != 0
    assert "erase needs --user" in run.stderr and "Traceback" not in run.stderr
