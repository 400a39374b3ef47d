"""CLI fixtures: a real SQLite database (a copy of the migrated template) and a runner.

``invoke("search", "paris", "-u", "alice", "--json")`` runs ``memsvc`` in-process with
``CliRunner`` against that database, with the hashing embedder and no background worker,
asserts the exit status, and returns the result (``.stdout``, ``.stderr``, ``.json``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from memsvc.cli.main import cli


@dataclass
class Run:
    """A finished CLI invocation."""

    result: Result

    @property
    def stdout(self) -> str:
        return self.result.stdout

    @property
    def stderr(self) -> str:
        return self.result.stderr

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    @property
    def json(self) -> Any:
        return json.loads(self.result.stdout)


Invoke = Callable[..., Run]


@pytest.fixture
def db_path(tmp_path: Path, template_db: Path) -> Path:
    path = tmp_path / "memsvc.db"
    shutil.copy(template_db, path)
    return path


@pytest.fixture
def base_args(tmp_path: Path, db_path: Path) -> list[str]:
    return [
        "-s", "db.url", f"sqlite:///{db_path}",
        "-s", "index.dir", str(tmp_path / "index"),
        "-s", "embed.backend", "hashing",
        "-s", "consolidation.in_process_worker", "false",
    ]  # fmt: skip


@pytest.fixture
def invoke(base_args: list[str]) -> Invoke:
    runner = CliRunner()

    def run(*args: str, code: int | None = 0, input: str | None = None) -> Run:
        result = runner.invoke(cli, [*base_args, *args], input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return Run(result)

    return run


def _turn(user: str, when: str, text: str) -> dict[str, Any]:
    return {
        "user_id": user.lower(),
        "role": "user",
        "name": user,
        "occurred_at": when,
        "content": text,
    }


CHAT = [
    _turn("Alice", "2023-05-01T10:00:00+00:00", "I moved to Paris last week."),
    _turn("Alice", "2023-05-01T10:01:00+00:00", "My sister Anna lives in Berlin."),
    _turn("Alice", "2023-05-02T09:00:00+00:00", "I started learning the cello."),
    _turn("Alice", "2023-05-03T18:30:00+00:00", "I love hiking in the Alps."),
    _turn("Bob", "2023-05-04T08:00:00+00:00", "I work as a nurse in Lyon."),
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def chat_rows() -> list[dict[str, Any]]:
    """The chat history of ``chat_file``."""
    return [dict(row) for row in CHAT]


@pytest.fixture
def chat_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "chat.jsonl", CHAT)


@pytest.fixture
def seeded(invoke: Invoke, chat_file: Path) -> dict[str, Any]:
    """alice's and bob's turns imported with their times and consolidated (one invocation)."""
    out = invoke("import", str(chat_file), "--consolidate", "--json")
    return out.json["counts"]
