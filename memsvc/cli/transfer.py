"""``memsvc export`` and ``memsvc import``: JSON Lines, streamed both ways.

``export`` writes a namespace or a scope losslessly (see :mod:`memsvc.service.transfer`); ``import``
reads such an export back, or a chat history of ``{user_id, role, name, content, occurred_at}``
lines, which is added with the original timestamps (also through a server with ``--url``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.options import scope_options
from memsvc.cli.output import console, emit_json, json_option, key_value_table
from memsvc.errors import InvalidInput
from memsvc.types import Scope

if TYPE_CHECKING:
    from memsvc.service.transfer import OnConflict

__all__ = ["export_command", "import_command"]


def _progress() -> Progress:
    err = console(stderr=True)
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@click.command("export")
@click.argument("output", type=click.File("w", encoding="utf-8", lazy=True), default="-")
@scope_options
@json_option
@pass_state
def export_command(
    state: CliState,
    output: IO[str],
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    as_json: bool,
) -> None:
    """Write the namespace (or one scope) as JSON Lines to OUTPUT (default: stdout).

    Every row is written with its ids, times, validity, history and provenance; `memsvc
    import` restores it exactly.
    """
    service = state.service()
    scope = Scope(user_id, agent_id, session_id) if (user_id or agent_id or session_id) else None
    records = service.export(scope=scope, namespace=state.namespace)
    header = next(records)
    total = sum(r[2] for r in header["ranges"].values())
    counts: dict[str, int] = {}
    with _progress() as progress:
        task = progress.add_task("exporting", total=total)
        for record in itertools.chain([header], records):
            output.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            if record["type"] == "footer":
                counts = record["counts"]
            elif record["type"] != "header":
                progress.advance(task)
    output.flush()
    to_stdout = getattr(output, "name", "-") in ("-", "<stdout>")
    _summary("Exported", counts, as_json=as_json, to_stderr=to_stdout)


@click.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8", lazy=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "export", "chat"]),
    default="auto",
    show_default=True,
    help="export: a memsvc export; chat: lines of {user_id, role, name, content, occurred_at}.",
)
@click.option(
    "--on-conflict",
    type=click.Choice(["error", "skip", "replace"]),
    default="error",
    show_default=True,
    help="Export rows that exist already (imported before): fail, keep them, or overwrite them.",
)
@click.option(
    "--consolidate",
    "is_consolidating",
    is_flag=True,
    help="After a chat import, run consolidation now in this process (database only).",
)
@json_option
@pass_state
def import_command(
    state: CliState,
    source: IO[str],
    fmt: str,
    on_conflict: OnConflict,
    is_consolidating: bool,
    as_json: bool,
) -> None:
    """Import SOURCE (a file, or - for stdin): a memsvc export or a chat history."""
    from memsvc.service.transfer import read_jsonl

    lines = read_jsonl(source)
    first = next(lines, None)
    if first is None:
        _summary("Imported", {}, as_json=as_json)
        return
    stream = itertools.chain([first], lines)
    if fmt == "auto":
        kind = first[1].get("type")
        if kind is not None and kind != "header":
            raise InvalidInput(
                f"line {first[0]} is a memsvc export's {kind!r} record, not its header: "
                "the export was cut at its start (its first line must be the header)"
            )
        fmt = "export" if kind == "header" else "chat"
    if fmt == "export":
        counts = _import_export(state, (record for _, record in stream), on_conflict)
    else:
        counts = _import_chat(state, stream)
        if is_consolidating:
            counts["jobs_run"] = state.service().run_pending_jobs()
    _summary("Imported", counts, as_json=as_json)


def _import_export(
    state: CliState, records: Iterator[dict[str, Any]], on_conflict: OnConflict
) -> dict[str, int]:
    service = state.service()
    with console(stderr=True).status("importing and indexing"):
        report = service.import_records(records, namespace=state.namespace, on_conflict=on_conflict)
    counts = dict(report.counts)
    counts.update({f"skipped_{k}": v for k, v in report.skipped.items() if v})
    counts.update({f"replaced_{k}": v for k, v in report.replaced.items() if v})
    counts.update({f"id_offset_{k}": v for k, v in report.offsets.items() if v})
    if report.nulled_references:
        counts["nulled_references"] = report.nulled_references
    return counts


def _import_chat(state: CliState, lines: Iterator[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    from memsvc.service.transfer import iter_chat_batches

    api = state.memory()
    max_batch = state.settings.limits.max_batch
    events = batches = 0
    with _progress() as progress:
        task = progress.add_task("importing chat", total=None)
        for batch in iter_chat_batches(lines, max_batch=max_batch):
            result = api.add(
                batch.messages,
                user_id=batch.scope["user_id"],
                agent_id=batch.scope["agent_id"],
                session_id=batch.scope["session_id"],
                metadata=batch.metadata,
                occurred_at=batch.occurred_at,
            )
            events += len(result.events)
            batches += 1
            progress.advance(task, len(result.events))
    return {"event": events, "add_calls": batches}


def _summary(title: str, counts: dict[str, int], *, as_json: bool, to_stderr: bool = False) -> None:
    if as_json:
        if to_stderr:
            click.echo(json.dumps({"counts": counts}), err=True)
        else:
            emit_json({"counts": counts})
        return
    console(stderr=to_stderr).print(key_value_table(title, counts or {"rows": 0}))
