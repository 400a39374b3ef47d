"""The CLI on a real PostgreSQL: export -> import with remapped ids moves the id sequences on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from memsvc.cli.main import cli

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_invoke(postgres_url: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``memsvc`` on a fresh database created for this test, dropped afterwards."""
    name = f"memsvc_cli_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    base = ["-s", "db.url", url, "-s", "index.dir", str(tmp_path / "index")]
    base += ["-s", "embed.backend", "hashing", "-s", "consolidation.in_process_worker", "false"]
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout) if "--json" in args else result

    try:
        run("db", "upgrade")
        yield run
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_export_import_remaps_and_advances_sequences(
    pg_invoke: Callable[..., Any], tmp_path: Path
) -> None:
    pg_invoke(
        "add", "I moved to Paris", "My sister lives in Berlin", "-u", "alice", "--consolidate"
    )
    dump = tmp_path / "dump.jsonl"
    pg_invoke("export", str(dump))
    counts = pg_invoke("--namespace", "copy", "import", str(dump), "--json")["counts"]
    assert counts["event"] == 2 and counts["id_offset_event"] > 0
    added = pg_invoke("--namespace", "copy", "add", "A new turn", "-u", "alice", "--json")
    newest = int(added["events"][0]["id"].rpartition("_")[2])
    assert newest > 2 + counts["id_offset_event"]
    pg_invoke("--namespace", "copy", "index", "verify")
