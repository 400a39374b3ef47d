"""Printing: Rich for people, JSON for scripts (``--json``), one line on stderr for errors."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

__all__ = [
    "console",
    "emit_json",
    "fmt_time",
    "json_option",
    "key_value_table",
    "short",
    "to_jsonable",
]

F = TypeVar("F", bound=Callable[..., Any])

PIPE_WIDTH = 200


def json_option(func: F) -> F:
    """Add ``--json`` (machine-readable output) to a command; it arrives as ``as_json``."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print machine-readable JSON on stdout instead of tables.",
    )(func)


def console(*, stderr: bool = False) -> Console:
    """A Rich console on the current stdout (or stderr); plain text when not a terminal.

    Output that goes to a file or a pipe is not folded at 80 columns: it is laid out
    ``$COLUMNS`` wide, else :data:`PIPE_WIDTH`.
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() else PIPE_WIDTH
    return Console(file=stream, width=width, soft_wrap=False, highlight=False)


def to_jsonable(value: Any) -> Any:
    """Convert models, dataclass-like values, times and paths into JSON-able data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout."""
    click.echo(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))


def fmt_time(value: datetime | str | None) -> str:
    """A compact UTC time for tables (``2026-01-31 14:05``); ``-`` for none."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed.strftime("%Y-%m-%d %H:%M")
    return value.strftime("%Y-%m-%d %H:%M")


def short(text: str | None, width: int = 80) -> str:
    """One line of at most ``width`` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def key_value_table(title: str, rows: Mapping[str, Any]) -> Table:
    """A two-column table of names and values."""
    table = Table(title=title, show_header=False, title_justify="left", min_width=len(title) + 2)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in rows.items():
        table.add_row(key, "-" if value is None else str(value))
    return table
