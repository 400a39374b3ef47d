"""``memsvc index stats|verify|rebuild``: the derived indexes against SQL, the source of truth."""

from __future__ import annotations

from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.output import console, emit_json, json_option, key_value_table

__all__ = ["index_group"]

_SAMPLE = 20


@click.group("index")
def index_group() -> None:
    """Vector and BM25 indexes: sizes, drift against the database, rebuild."""


@index_group.command("stats")
@json_option
@pass_state
def stats_command(state: CliState, as_json: bool) -> None:
    """Index sizes, the change-log sequence they include, and how far behind they are."""
    from memsvc.store import change_log

    service = state.service()
    ns_id = service.namespace_id(state.namespace)
    idx = service.indexes.get(ns_id)
    with service.begin() as session:
        last = change_log.last_seq(session, ns_id)
    data: dict[str, Any] = {
        "namespace_id": ns_id,
        "dense_vectors": len(idx.dense),
        "sparse_documents": len(idx.sparse),
        "applied_seq": idx.applied_seq,
        "last_seq": last,
        "behind": max(0, last - idx.applied_seq),
        "dense": _details(idx.dense),
        "sparse": _details(idx.sparse),
    }
    if as_json:
        emit_json(data)
        return
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    flat.update({f"dense.{k}": v for k, v in data["dense"].items()})
    flat.update({f"sparse.{k}": v for k, v in data["sparse"].items()})
    console().print(key_value_table("Indexes", flat))


def _details(index: object) -> dict[str, Any]:
    stats = getattr(index, "stats", None)
    return dict(stats()) if callable(stats) else {}


@index_group.command("verify")
@json_option
@pass_state
def verify_command(state: CliState, as_json: bool) -> None:
    """Compare the indexes with the database and report drift (exit status 1 when found)."""
    service = state.service()
    report = service.indexes.verify(service.namespace_id(state.namespace))
    data = {
        "ok": report.is_ok,
        "namespace_id": report.namespace_id,
        "sql_count": report.sql_count,
        "dense_count": report.dense_count,
        "sparse_count": report.sparse_count,
        "missing": report.missing,
        "extra": report.extra,
    }
    if as_json:
        emit_json(data)
    else:
        out = console()
        summary = {k: v for k, v in data.items() if k not in ("missing", "extra")}
        summary["missing"] = _sample(report.missing)
        summary["extra"] = _sample(report.extra)
        out.print(key_value_table("Index verification", summary))
        if report.is_ok:
            out.print("indexes match the database")
        else:
            out.print("drift found: run `memsvc index rebuild`")
    if not report.is_ok:
        raise click.exceptions.Exit(1)


def _sample(ids: list[str]) -> str:
    head = ", ".join(ids[:_SAMPLE])
    more = f" … (+{len(ids) - _SAMPLE})" if len(ids) > _SAMPLE else ""
    return f"{len(ids)}: {head}{more}" if ids else "0"


@index_group.command("rebuild")
@json_option
@pass_state
def rebuild_command(state: CliState, as_json: bool) -> None:
    """Rebuild the namespace's indexes from the database, with a progress bar."""
    service = state.service()
    ns_id = service.namespace_id(state.namespace)
    err = console(stderr=True)
    with Progress(
        TextColumn("rebuilding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("rebuild", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        count = service.indexes.rebuild(ns_id, progress=advance)
    service.indexes.save_all()
    data = {"namespace_id": ns_id, "indexed": count}
    if as_json:
        emit_json(data)
        return
    console().print(f"rebuilt the indexes of namespace {ns_id}: {count} memories")


@index_group.command("rebuild-tree")
@click.argument("user_id")
@click.option("--agent-id", default=None, help="The agent of the tree's owner scope.")
@json_option
@pass_state
def rebuild_tree_command(
    state: CliState, user_id: str, agent_id: str | None, as_json: bool
) -> None:
    """Rebuild USER_ID's MemTree from their facts and episode summaries."""
    from memsvc.types import Scope

    service = state.service()
    leaves = service.rebuild_tree(scope=Scope(user_id, agent_id), namespace=state.namespace)
    if as_json:
        emit_json({"user_id": user_id, "leaves": leaves})
        return
    console().print(f"rebuilt the memory tree of {user_id}: {leaves} leaves")


@index_group.command("reembed")
@click.option("--no-rebuild", is_flag=True, help="Only store the vectors; rebuild later.")
@json_option
@pass_state
def reembed_command(state: CliState, no_rebuild: bool, as_json: bool) -> None:
    """Re-embed the namespace with the configured model, then rebuild its indexes from the
    stored vectors (e.g. `memsvc -s embed.backend static index reembed`).

    A server still running the old model keeps serving meanwhile; restart it with the new
    setting once this has finished.
    """
    from memsvc.index.reembed import reembed_namespace

    service = state.service()
    ns_id = service.namespace_id(state.namespace)
    err = console(stderr=True)
    with Progress(
        TextColumn("re-embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("reembed", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = reembed_namespace(
            ns_id,
            embedder=service.embedder,
            begin=service.begin,
            read=service.read,
            progress=advance,
        )
        indexed = None
        if not no_rebuild:
            progress.update(task, description="rebuilding", completed=0)
            indexed = service.indexes.rebuild(ns_id, progress=advance)
            service.indexes.save_all()
    data = {
        "namespace_id": ns_id,
        "model": report.model_id,
        "memories": report.memories,
        "embedded": report.embedded,
        "seconds": report.seconds,
        "indexed": indexed,
    }
    if as_json:
        emit_json(data)
        return
    console().print(
        f"namespace {ns_id} re-embedded with {report.model_id}: {report.memories} memories, "
        f"{report.embedded} new vectors in {report.seconds}s"
        + ("" if indexed is None else f"; indexes rebuilt ({indexed})")
    )
