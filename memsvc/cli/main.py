"""The ``memsvc`` command group: global options, logging, and the one error boundary.

Every :class:`~memsvc.errors.MemsvcError` (and any unexpected failure) becomes one line on
stderr and exit status 1; ``--debug`` lets the traceback through instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from memsvc import __version__
from memsvc.cli import (
    bench,
    config_cmd,
    db,
    embed,
    index,
    inspect,
    keys,
    memories,
    prune,
    server,
    stats,
    transfer,
)
from memsvc.cli.context import CliState
from memsvc.cli.logs import LogFormat, configure_logging, remove_cli_handler
from memsvc.errors import MemsvcError

__all__ = ["cli", "main"]

logger = logging.getLogger(__name__)

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "failed"


class _UsageError(click.ClickException):
    """A usage error printed as one line, with click's usage exit status."""

    exit_code = 2


class MemsvcGroup(click.Group):
    """A click group whose errors are one line on stderr (exit 1) unless ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning failures into a single-line ``click.ClickException``."""
        try:
            try:
                return super().invoke(ctx)
            finally:
                state = ctx.find_object(CliState)
                if state is not None:
                    state.close()
        except click.UsageError as exc:
            # click would print the usage block too; keep every error to one line
            where = exc.ctx.command_path if exc.ctx is not None else "memsvc"
            raise _UsageError(_one_line(f"{exc.format_message()} (see '{where} --help')")) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except MemsvcError as exc:
            if _is_debug(ctx):
                raise
            raise click.ClickException(_one_line(f"{exc.message} [{exc.code}]")) from exc
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:  # the CLI is a boundary: no traceback unless --debug
            if _is_debug(ctx):
                raise
            logger.debug("command failed", exc_info=True)
            message = f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
            raise click.ClickException(_one_line(message)) from exc


def _is_debug(ctx: click.Context) -> bool:
    state = ctx.find_object(CliState)
    return state is not None and state.is_debug


@click.group(
    cls=MemsvcGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_file",
    # existence is checked when the settings are read, as one line (click would print the
    # whole usage block for a missing file)
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MEMSVC_CONFIG_FILE",
    help="Settings file (TOML or JSON, nested like the settings). Env: MEMSVC_CONFIG_FILE.",
)
@click.option(
    "-s",
    "--setting",
    "overrides",
    nargs=2,
    multiple=True,
    metavar="KEY VALUE",
    help="Override one setting by dotted name, e.g. -s embed.backend hashing. Repeatable.",
)
@click.option(
    "--namespace",
    help="Namespace (tenant) to work in on the database; default: the 'namespace' setting.",
)
@click.option(
    "--url",
    envvar="MEMSVC_URL",
    help="Send memory commands to this memsvc server instead of the database. Env: MEMSVC_URL.",
)
@click.option(
    "--api-key",
    envvar="MEMSVC_API_KEY",
    help="API key for --url. Env: MEMSVC_API_KEY.",
)
@click.option(
    "--log-level",
    type=click.Choice(_LEVELS, case_sensitive=False),
    default=None,
    help="Log level on stderr (default WARNING; INFO for serve, worker and mcp).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log line format: text, or one JSON object per line.",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(__version__, "--version", prog_name="memsvc", help="Show the version.")
@click.pass_context
def cli(
    ctx: click.Context,
    config_file: Path | None,
    overrides: tuple[tuple[str, str], ...],
    namespace: str | None,
    url: str | None,
    api_key: str | None,
    log_level: str | None,
    log_format: LogFormat,
    debug: bool,
) -> None:
    """memsvc: long-term memory for chatbots and agents — admin command line.

    Works on the configured database directly, or with --url on a running server (memory
    commands). Add --json to a command for machine-readable output.
    """
    state = CliState(
        config_file=config_file,
        overrides=overrides,
        namespace=namespace,
        url=url.rstrip("/") if url else None,
        api_key=api_key,
        is_debug=debug,
        log_level=log_level,
        log_format=log_format,
    )
    ctx.obj = state
    configure_logging(log_level or ("DEBUG" if debug else "WARNING"), log_format)
    ctx.call_on_close(remove_cli_handler)


for _command in (
    *memories.COMMANDS,
    inspect.inspect_command,
    prune.prune_command,
    transfer.export_command,
    transfer.import_command,
    index.index_group,
    embed.embed_group,
    stats.stats_command,
    db.db_group,
    keys.keys_group,
    config_cmd.config_group,
    server.serve_command,
    server.worker_command,
    server.mcp_command,
    bench.bench_command,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point (``memsvc``)."""
    cli(prog_name="memsvc")


if __name__ == "__main__":  # python -m memsvc.cli.main
    main()
