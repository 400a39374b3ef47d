"""``memsvc stats``: counts per kind and per user, index sizes, queue depth, consolidation lag."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.output import console, emit_json, json_option, key_value_table
from memsvc.types import MemoryKind

__all__ = ["stats_command"]


@click.command("stats")
@click.option(
    "--users", type=click.IntRange(0), default=20, show_default=True, help="Users listed (0: none)."
)
@json_option
@pass_state
def stats_command(state: CliState, users: int, as_json: bool) -> None:
    """Counts per kind and per user, index sizes, queue depth and consolidation lag."""
    from memsvc.service.inventory import counts_by_user

    service = state.service()
    data: dict[str, Any] = dict(service.stats(namespace=state.namespace))
    if users:
        data["users"] = counts_by_user(
            service.begin, namespace_id=service.namespace_id(state.namespace), limit=users
        )
    if as_json:
        emit_json(data)
        return
    out = console()
    out.print(
        key_value_table(f"Memories in namespace {data.get('namespace')}", data.get("memories", {}))
    )
    out.print(key_value_table("Indexes", data.get("index", {})))
    queue = dict(data.get("jobs", {}))
    queue["queue_lag_s"] = _seconds(data.get("queue_lag_s"))
    lag = data.get("consolidation_lag_s") or {}
    queue["consolidation_lag_p50_s"] = _seconds(lag.get("p50"))
    queue["consolidation_lag_p95_s"] = _seconds(lag.get("p95"))
    out.print(key_value_table("Consolidation queue", queue))
    if data.get("users"):
        out.print(_users_table(data["users"]))


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def _users_table(users: dict[str, dict[str, int]]) -> Table:
    kinds = [k.value for k in MemoryKind]
    table = Table(title="Per user", title_justify="left")
    table.add_column("user")
    for kind in kinds:
        table.add_column(kind, justify="right")
    for user, counts in users.items():
        table.add_row(user, *(str(counts.get(k, 0)) for k in kinds))
    return table
