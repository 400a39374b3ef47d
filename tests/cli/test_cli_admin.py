"""db, keys, stats, worker and bench commands."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from memsvc.cli.main import cli

Invoke = Callable[..., Any]


def test_db_current_reports_head(invoke: Invoke) -> None:
    data = invoke("db", "current", "--json").json
    assert data["current"] == data["head"] and data["up_to_date"] is True


def test_db_upgrade_and_check_on_a_fresh_database(tmp_path: Path) -> None:
    args = ["-s", "db.url", f"sqlite:///{tmp_path / 'fresh.db'}"]
    runner = CliRunner()
    before = runner.invoke(cli, [*args, "db", "current", "--json"])
    assert '"current": null' in before.stdout
    assert runner.invoke(cli, [*args, "db", "upgrade"]).exit_code == 0
    checked = runner.invoke(cli, [*args, "db", "check", "--json"])
    assert checked.exit_code == 0, checked.stdout
    assert '"ok": true' in checked.stdout
    down = runner.invoke(cli, [*args, "db", "downgrade", "base", "--yes", "--json"])
    assert down.exit_code == 0 and '"current": null' in down.stdout


def test_db_downgrade_requires_yes(invoke: Invoke) -> None:
    out = invoke("db", "downgrade", "base", code=1)
    assert "--yes" in out.stderr


def test_keys_create_list_revoke(invoke: Invoke) -> None:
    created = invoke("keys", "create", "--namespace", "acme", "--name", "ci", "--json").json
    assert created["secret"].startswith(created["secret"][:4]) and created["namespace"] == "acme"
    listed = invoke("keys", "list", "--namespace", "acme", "--json").json
    assert [k["id"] for k in listed] == [created["id"]]
    assert created["secret"] not in invoke("keys", "list").stdout
    invoke("keys", "revoke", str(created["id"]))
    assert invoke("keys", "list", "--json").json[0]["revoked_at"] is not None
    assert "no live API key" in invoke("keys", "revoke", str(created["id"]), code=1).stderr


def test_stats_counts_per_kind_and_user(invoke: Invoke, seeded: dict[str, Any]) -> None:
    data = invoke("stats", "--json").json
    assert data["memories"]["event"] == 5
    assert data["users"]["alice"]["event"] == 4 and data["users"]["bob"]["event"] == 1
    assert "jobs" in data and "index" in data
    assert "Per user" in invoke("stats").stdout


def test_worker_once_runs_queued_jobs(invoke: Invoke) -> None:
    invoke("add", "I adopted a cat named Miso", "-u", "frank")
    assert invoke("worker", "--once", "--json").json["jobs_run"] == 1
    assert invoke("worker", "--once", "--json").json["jobs_run"] == 0


def _fake_bench(folder: Path) -> Path:
    folder.mkdir()
    (folder / "tiny_bench.py").write_text(
        textwrap.dedent(
            """
            import argparse, json
            parser = argparse.ArgumentParser()
            parser.add_argument("--out")
            parser.add_argument("--n", type=int, default=3)
            args = parser.parse_args()
            rows = [
                {"name": f"case{i}", "n": args.n, "search": {"p50_ms": 1.5 * i}} for i in range(2)
            ]
            with open(args.out, "w") as f:
                json.dump({"results": rows}, f)
            """
        )
    )
    return folder


def test_bench_runs_scripts_and_prints_a_table(tmp_path: Path) -> None:
    folder = _fake_bench(tmp_path / "benchmarks")
    runner = CliRunner()
    chart = tmp_path / "chart.png"
    result = runner.invoke(
        cli, ["bench", "--dir", str(folder), "--chart", str(chart), "tiny", "--", "--n", "9"]
    )
    assert result.exit_code == 0, result.stderr
    assert "tiny_bench: ok" in result.stdout and "search.p50_ms" in result.stdout
    assert chart.read_bytes()[:4] == b"\x89PNG"
    data = runner.invoke(cli, ["bench", "--dir", str(folder), "--json"])
    assert '"n": 3' in data.stdout


def test_bench_unknown_name_is_an_error(tmp_path: Path) -> None:
    folder = _fake_bench(tmp_path / "benchmarks")
    result = CliRunner().invoke(cli, ["bench", "--dir", str(folder), "nope"])
    assert result.exit_code == 1 and "no benchmark 'nope'" in result.stderr
