"""Memory commands: add, search, get, list, update, delete, history, consolidate.

They go through the memory API (:class:`~memsvc.cli.context.MemoryApi`): the embedded
``Memory`` by default, the HTTP ``MemoryClient`` with ``--url``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.options import JSON_OBJECT, TIME, scope_kwargs, scope_options
from memsvc.cli.output import console, emit_json, json_option, key_value_table
from memsvc.cli.render import history_table, hits_table, memory_table, provenance, validity
from memsvc.errors import InvalidInput
from memsvc.types import MemoryKind, Scope

__all__ = ["COMMANDS"]

_KINDS = click.Choice([k.value for k in MemoryKind])


@click.command("add")
@click.argument("messages", nargs=-1, required=True)
@scope_options
@click.option("--role", default="user", show_default=True, help="Role of every message.")
@click.option("--name", "speaker", help="Speaker name (resolves 'I' in extracted facts).")
@click.option(
    "--metadata", type=JSON_OBJECT, help='JSON object stored on each event, e.g. \'{"ref": "d1"}\'.'
)
@click.option("--occurred-at", type=TIME, help="When the messages happened (default: now).")
@click.option(
    "--consolidate",
    "is_consolidating",
    is_flag=True,
    help="Run consolidation (episodes, facts, tree) now, in this process (database only).",
)
@json_option
@pass_state
def add_command(
    state: CliState,
    messages: tuple[str, ...],
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    role: str,
    speaker: str | None,
    metadata: dict[str, Any] | None,
    occurred_at: datetime | None,
    is_consolidating: bool,
    as_json: bool,
) -> None:
    """Remember MESSAGES (one event each); they are searchable at once."""
    if is_consolidating and state.is_remote:
        raise InvalidInput("--consolidate runs on the database; the server's workers consolidate")
    batch = [{"role": role, "content": m, "name": speaker} for m in messages]
    result = state.memory().add(
        batch,
        **scope_kwargs(user_id, agent_id, session_id),
        metadata=metadata,
        occurred_at=occurred_at,
    )
    jobs_run = 0
    if is_consolidating:
        jobs_run = state.service().run_pending_jobs()
    if as_json:
        emit_json({**result.model_dump(mode="json"), "jobs_run": jobs_run})
        return
    out = console()
    out.print(memory_table(result.events, title=f"Added {len(result.events)} event(s)"))
    if result.job_id is not None:
        done = f"; {jobs_run} job(s) run" if is_consolidating else ""
        out.print(f"consolidation job {result.job_id} queued{done}")


@click.command("search")
@click.argument("query")
@scope_options
@click.option("--top-k", "-k", type=click.IntRange(1), help="How many results (default: setting).")
@click.option("--kind", "kinds", type=_KINDS, multiple=True, help="Only these kinds. Repeatable.")
@click.option("--as-of", type=TIME, help="Answer with what was true at this time.")
@click.option("--include-inactive", is_flag=True, help="Also superseded and forgotten facts.")
@click.option("--filter", "filters", type=JSON_OBJECT, help="Metadata equality filters (JSON).")
@click.option("--rounds", type=click.IntRange(1, 8), help="Iterative retrieval rounds.")
@click.option(
    "--context",
    "context_tokens",
    type=click.IntRange(1),
    help="Also build a context string of this many tokens.",
)
@click.option("--explain", is_flag=True, help="Show the parts of each score.")
@json_option
@pass_state
def search_command(
    state: CliState,
    query: str,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    top_k: int | None,
    kinds: tuple[str, ...],
    as_of: datetime | None,
    include_inactive: bool,
    filters: dict[str, Any] | None,
    rounds: int | None,
    context_tokens: int | None,
    explain: bool,
    as_json: bool,
) -> None:
    """Search a scope's memories for QUERY: scores, kinds, provenance and validity."""
    api = state.memory()
    load_s = state.load_model()
    result = api.search(
        query,
        **scope_kwargs(user_id, agent_id, session_id),
        top_k=top_k,
        kinds=list(kinds) or None,
        as_of=as_of,
        include_inactive=include_inactive,
        filters=filters,
        rounds=rounds,
        context_tokens=context_tokens,
    )
    if as_json:
        emit_json({**result.model_dump(mode="json"), "model_load_s": load_s})
        return
    out = console()
    out.print(hits_table(result.hits, is_explained=explain))
    loaded = f" (the model loaded in {load_s:.1f} s before it)" if load_s is not None else ""
    out.print(
        f"{len(result.hits)} hit(s) in {result.took_ms:.1f} ms, {result.rounds} round(s){loaded}"
    )
    if result.context:
        out.rule("context")
        out.print(result.context, markup=False)


@click.command("get")
@click.argument("memory_id")
@json_option
@pass_state
def get_command(state: CliState, memory_id: str, as_json: bool) -> None:
    """Show one memory by id (e.g. fact_12)."""
    memory = state.memory().get(memory_id)
    if as_json:
        emit_json(memory)
        return
    rows: dict[str, Any] = {
        "id": memory.id,
        "kind": memory.kind,
        "status": memory.status,
        "scope": Scope(memory.user_id, memory.agent_id, memory.session_id).as_dict(),
        "validity": validity(memory),
        "provenance": provenance(memory),
        "content": memory.content,
        "metadata": memory.metadata or "-",
        **{f"attributes.{k}": v for k, v in memory.attributes.items()},
    }
    console().print(key_value_table(memory.id, rows))


@click.command("list")
@scope_options
@click.option(
    "--kind", "kinds", type=_KINDS, multiple=True, help="Kinds to list (default: facts and events)."
)
@click.option("--include-inactive", is_flag=True, help="Also superseded and forgotten facts.")
@click.option("--filter", "filters", type=JSON_OBJECT, help="Metadata equality filters (JSON).")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Page size."
)
@click.option("--cursor", help="Continue after a previous page (its next_cursor).")
@json_option
@pass_state
def list_command(
    state: CliState,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    kinds: tuple[str, ...],
    include_inactive: bool,
    filters: dict[str, Any] | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List a scope's memories, one page at a time."""
    page = state.memory().get_all(
        **scope_kwargs(user_id, agent_id, session_id),
        kinds=list(kinds) or None,
        include_inactive=include_inactive,
        filters=filters,
        cursor=cursor,
        limit=limit,
    )
    if as_json:
        emit_json(page)
        return
    out = console()
    out.print(memory_table(page.items))
    if page.next_cursor:
        out.print(f"more: --cursor {page.next_cursor}")


@click.command("update")
@click.argument("memory_id")
@click.option("--content", help="New text.")
@click.option("--metadata", type=JSON_OBJECT, help="New metadata (replaces the old), as JSON.")
@json_option
@pass_state
def update_command(
    state: CliState,
    memory_id: str,
    content: str | None,
    metadata: dict[str, Any] | None,
    as_json: bool,
) -> None:
    """Change a memory's text or metadata (recorded in its history)."""
    if content is None and metadata is None:
        raise InvalidInput("nothing to update: give --content or --metadata")
    memory = state.memory().update(memory_id, content=content, metadata=metadata)
    if as_json:
        emit_json(memory)
        return
    console().print(memory_table([memory], title="Updated"))


@click.command("delete")
@click.argument("memory_id")
@click.option("--erase-history", is_flag=True, help="Also erase the memory's history.")
@json_option
@pass_state
def delete_command(state: CliState, memory_id: str, erase_history: bool, as_json: bool) -> None:
    """Delete one memory from the database and every index."""
    state.memory().delete(memory_id, erase_history=erase_history)
    if as_json:
        emit_json({"deleted": memory_id, "erase_history": erase_history})
        return
    console().print(f"deleted {memory_id}")


@click.command("erase")
@click.option("--user", "user_id", help="User whose memories are erased.")
@click.option("--agent", "agent_id", help="Agent whose memories are erased.")
@click.option("--session", "session_id", help="Only this session (with --user/--agent).")
@click.option("--verify", is_flag=True, help="Scan every store for the erased text afterwards.")
@json_option
@pass_state
def erase_command(
    state: CliState,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    verify: bool,
    as_json: bool,
) -> None:
    """Purge a scope: its memories, what was derived from them, and every byte of their text.

    Memories derived also from other sessions are recomputed from those. Exits 1 when
    --verify finds erased text in any store.
    """
    if user_id is None and agent_id is None and session_id is None:
        raise InvalidInput("erase needs --user, --agent or --session")
    counts = state.memory().erase(
        user_id=user_id, agent_id=agent_id, session_id=session_id, purge=True, verify=verify
    )
    report = counts.get("verify")
    if as_json:
        emit_json(counts)
    else:
        flat = {k: v for k, v in counts.items() if k != "verify"}
        console().print(key_value_table("Erased (per store)", flat))
        if report is not None:
            found = ", ".join(f["store"] for f in report["found"]) or "nothing"
            console().print(
                key_value_table(
                    "Verification",
                    {
                        "probe words": report["probe_words"],
                        "SQL rows scanned": report["sql_rows_scanned"],
                        "files scanned": report["files_scanned"],
                        "bytes scanned": report["bytes_scanned"],
                        "found in": found,
                    },
                )
            )
    if report is not None and not report["clean"]:
        raise click.exceptions.Exit(1)


@click.command("history")
@click.argument("memory_id")
@json_option
@pass_state
def history_command(state: CliState, memory_id: str, as_json: bool) -> None:
    """Show every change of a memory, oldest first (also after it was deleted)."""
    entries = list(state.memory().history(memory_id))
    if as_json:
        emit_json(entries)
        return
    console().print(history_table(entries, memory_id=memory_id))


@click.command("consolidate")
@scope_options
@click.option(
    "--no-wait", "is_queued_only", is_flag=True, help="Only queue the job; a worker runs it."
)
@json_option
@pass_state
def consolidate_command(
    state: CliState,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    is_queued_only: bool,
    as_json: bool,
) -> None:
    """Consolidate a scope now: episodes, facts, summaries and the MemTree (database only)."""
    service = state.service()
    scope = Scope(user_id, agent_id, session_id)
    job_id = service.consolidate(scope=scope, namespace=state.namespace)
    ran = 0 if is_queued_only else service.run_pending_jobs()
    job = service.job(job_id, namespace=state.namespace)
    data = {"job_id": job_id, "jobs_run": ran, "status": job.status, "last_error": job.last_error}
    if as_json:
        emit_json(data)
        return
    console().print(key_value_table("Consolidation", data))


COMMANDS = (
    add_command,
    search_command,
    get_command,
    list_command,
    update_command,
    delete_command,
    erase_command,
    history_command,
    consolidate_command,
)
