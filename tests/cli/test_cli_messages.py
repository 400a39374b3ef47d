"""Errors that misled a newcomer now say what happened, each with its own code (issue 17)."""

from __future__ import annotations

from pathlib import Path

from cli.conftest import Invoke
from click.testing import CliRunner

from memsvc.cli.main import cli


def _fails(base_args: list[str], *args: str) -> str:
    result = CliRunner().invoke(cli, [*base_args, *args])
    assert result.exit_code != 0, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


def test_import_of_the_same_export_twice_is_already_exists(
    invoke: Invoke, base_args: list[str], tmp_path: Path
) -> None:
    invoke("add", "I live in Paris", "I like tea", "-u", "alice", "--consolidate")
    export = tmp_path / "e.jsonl"
    invoke("export", str(export))
    message = _fails(base_args, "import", str(export))
    assert message.endswith("[already_exists]")
    assert "--on-conflict skip" in message
    skipped = invoke("import", str(export), "--on-conflict", "skip", "--json").json["counts"]
    assert skipped["skipped_event"] == 2 and "event" not in skipped
    replaced = invoke("import", str(export), "--on-conflict", "replace", "--json").json["counts"]
    assert replaced["event"] == 2 and replaced["replaced_event"] == 2
    assert len(invoke("list", "-u", "alice", "--kind", "event", "--json").json["items"]) == 2


def test_import_of_an_export_cut_at_its_start_says_so(
    invoke: Invoke, base_args: list[str], tmp_path: Path
) -> None:
    invoke("add", "I live in Paris", "-u", "alice")
    export, cut = tmp_path / "e.jsonl", tmp_path / "cut.jsonl"
    invoke("export", str(export))
    cut.write_text("".join(export.read_text().splitlines(keepends=True)[1:]))
    message = _fails(base_args, "import", str(cut))
    assert "not its header: the export was cut at its start" in message
    assert "unknown key" not in message


def test_url_without_a_scheme_is_explained(base_args: list[str]) -> None:
    message = _fails(base_args, "--url", "127.0.0.1:8765", "search", "x", "-u", "a")
    assert message == (
        "Error: the server URL '127.0.0.1:8765' has no scheme: write http://127.0.0.1:8765 "
        "[config_error]"
    )


def test_missing_config_file_is_one_line(base_args: list[str], tmp_path: Path) -> None:
    message = _fails(base_args, "--config", str(tmp_path / "nope.toml"), "stats")
    assert "cannot read config file" in message and "No such file" in message
    assert "Usage:" not in message


def test_prune_erase_dry_run_says_would_erase(invoke: Invoke) -> None:
    invoke("add", "I live in Paris", "-u", "alice")
    out = invoke("prune", "--erase", "-u", "alice").stdout
    assert "would erase event" in out
    assert "erased" not in out


def test_bench_help_has_one_usage_and_lists_only_scripts(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("bench", "--help").stdout.count("Usage:") == 1
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "common.py").write_text("X = 1\n")
    (tmp_path / "b" / "tiny_bench.py").write_text("from common import X\n")
    listed = invoke("bench", "--list", "--dir", str(tmp_path / "b")).stdout.split()
    assert listed == ["tiny_bench"]
