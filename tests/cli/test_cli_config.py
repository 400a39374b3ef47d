"""Configuration: --config FILE, -s overrides, `config show` with secrets masked, the docs page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from memsvc.cli.config_docs import render_configuration_md
from memsvc.cli.configuration import iter_fields, load_settings
from memsvc.cli.main import cli
from memsvc.errors import ConfigError

Invoke = Callable[..., Any]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_config_show_masks_secrets(invoke: Invoke) -> None:
    out = invoke("-s", "llm.api_key", "sk-very-secret", "config", "show", "--json")
    assert out.json["llm"]["api_key"] == "**********"
    assert "sk-very-secret" not in out.stdout
    assert out.json["embed"]["backend"] == "hashing"


def test_config_show_human_output_masks_secrets(invoke: Invoke) -> None:
    out = invoke("-s", "api.admin_key", "top-secret-admin", "config", "show")
    assert "top-secret-admin" not in out.stdout
    assert "api.admin_key" in out.stdout


def test_config_file_is_read_and_overridden_by_settings(tmp_path: Path, invoke: Invoke) -> None:
    config = tmp_path / "memsvc.toml"
    config.write_text('namespace = "from-file"\n[retrieval]\ndefault_top_k = 7\nrounds = 3\n')
    out = invoke("--config", str(config), "-s", "retrieval.rounds", "1", "config", "show", "--json")
    assert out.json["namespace"] == "from-file"
    assert out.json["retrieval"]["default_top_k"] == 7
    assert out.json["retrieval"]["rounds"] == 1


def test_config_override_decodes_json_lists() -> None:
    settings = load_settings(None, [("api.cors_origins", '["https://a.example"]')])
    assert settings.api.cors_origins == ["https://a.example"]


def test_config_environment_is_below_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSVC_RETRIEVAL__ROUNDS", "4")
    monkeypatch.setenv("MEMSVC_RETRIEVAL__CANDIDATES", "77")
    settings = load_settings(None, [("retrieval.rounds", "2")])
    assert (settings.retrieval.rounds, settings.retrieval.candidates) == (2, 77)


def test_config_unknown_key_is_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["-s", "db.nope", "1", "config", "show"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["Error: unknown setting db.nope [config_error]"]


def test_config_invalid_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"retrieval\.rounds"):
        load_settings(None, [("retrieval.rounds", "99")])


def test_config_docs_mention_every_setting() -> None:
    page = DOCS.read_text(encoding="utf-8")
    missing = [name for name, _, _ in iter_fields() if f"`{name}`" not in page]
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_config_docs_are_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_configuration_md(), (
        "docs/configuration.md is stale: run python scripts/gen_config_docs.py"
    )


def test_config_docs_command_check_detects_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "configuration.md"
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "docs", "-o", str(page)]).exit_code == 0
    assert runner.invoke(cli, ["config", "docs", "-o", str(page), "--check"]).exit_code == 0
    page.write_text("stale\n")
    result = runner.invoke(cli, ["config", "docs", "-o", str(page), "--check"])
    assert result.exit_code == 1
    assert "out of date" in result.stderr


def test_log_format_json_writes_one_object_per_line(invoke: Invoke) -> None:
    import json

    out = invoke("--log-level", "INFO", "--log-format", "json", "db", "upgrade")
    records = [json.loads(line) for line in out.stderr.splitlines() if line.strip()]
    assert records and {"ts", "level", "logger", "message"} <= set(records[0])
    assert any(r["logger"] == "memsvc.store.migrate" for r in records)
