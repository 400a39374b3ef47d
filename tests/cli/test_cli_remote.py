"""Memory commands against a live server (--url) through the SDK, and an unreachable one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from memsvc.api.app import create_app
from memsvc.api.server import BackgroundServer
from memsvc.cli.main import cli
from memsvc.config import (
    ConsolidationSettings,
    DatabaseSettings,
    EmbedSettings,
    IndexSettings,
    Settings,
)


@pytest.fixture
def server_url(tmp_path: Path, db_path: Path) -> Iterator[str]:
    settings = Settings(
        db=DatabaseSettings(url=f"sqlite:///{db_path}"),
        index=IndexSettings(dir=tmp_path / "server-index"),
        embed=EmbedSettings(backend="hashing"),
        consolidation=ConsolidationSettings(in_process_worker=False),
    )
    with BackgroundServer(create_app(settings)) as url:
        yield url


def _run(url: str, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, ["--url", url, *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_memory_commands_work_against_a_server(server_url: str) -> None:
    added = json.loads(_run(server_url, "add", "I moved to Paris", "-u", "alice", "--json").stdout)
    memory_id = added["events"][0]["id"]
    hits = json.loads(_run(server_url, "search", "Paris", "-u", "alice", "--json").stdout)["hits"]
    assert hits[0]["memory"]["id"] == memory_id
    got = json.loads(_run(server_url, "get", memory_id, "--json").stdout)
    assert got["content"] == "I moved to Paris"
    _run(server_url, "update", memory_id, "--content", "I moved to Lyon")
    history = json.loads(_run(server_url, "history", memory_id, "--json").stdout)
    assert history[-1]["operation"] == "update"
    listed = json.loads(_run(server_url, "list", "-u", "alice", "--json").stdout)["items"]
    assert [m["content"] for m in listed] == ["I moved to Lyon"]
    assert "Facts" in _run(server_url, "inspect", "alice").stdout
    _run(server_url, "delete", memory_id)
    assert "memory_not_found" in _run(server_url, "get", memory_id, code=1).stderr


def test_unreachable_server_is_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["--url", "http://127.0.0.1:9", "get", "event_1"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_url_with_namespace_is_refused() -> None:
    args = ["--url", "http://127.0.0.1:9", "--namespace", "x", "get", "event_1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "drop --namespace" in result.stderr
