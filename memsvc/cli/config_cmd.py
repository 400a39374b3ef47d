"""``memsvc config show|docs``: the effective configuration (secrets masked) and its reference."""

from __future__ import annotations

from pathlib import Path

import click

from memsvc.cli.config_docs import render_configuration_md
from memsvc.cli.configuration import flatten, masked_dump
from memsvc.cli.context import CliState, pass_state
from memsvc.cli.output import console, emit_json, json_option, key_value_table
from memsvc.errors import ConfigError

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """Configuration: show the effective settings, or write their reference page."""


@config_group.command("show")
@json_option
@pass_state
def show_command(state: CliState, as_json: bool) -> None:
    """Print the effective configuration (defaults, env, --config, -s), secrets masked."""
    data = masked_dump(state.settings)
    if as_json:
        emit_json(data)
        return
    console().print(key_value_table("Effective configuration", flatten(data)))


@config_group.command("docs")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the page to this file instead of stdout.",
)
@click.option("--check", "is_check", is_flag=True, help="Exit 1 if --output is not up to date.")
def docs_command(output: Path | None, is_check: bool) -> None:
    """Print (or write) the Markdown reference of every setting (docs/configuration.md)."""
    page = render_configuration_md()
    if output is None:
        click.echo(page, nl=False)
        return
    if is_check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != page:
            raise ConfigError(f"{output} is out of date; run scripts/gen_config_docs.py")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
