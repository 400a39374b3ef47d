"""``memsvc prune``: decay and forgetting, removal of old inactive facts, erasure of a scope.

It always shows what it would do first: ``--dry-run`` is the default, ``--yes`` applies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.table import Table

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.options import TIME, scope_options
from memsvc.cli.output import console, emit_json, json_option
from memsvc.errors import InvalidInput
from memsvc.types import FactStatus, Scope

__all__ = ["prune_command"]

_INACTIVE = tuple(s.value for s in FactStatus if s is not FactStatus.ACTIVE)


@click.command("prune")
@scope_options
@click.option(
    "--decay/--no-decay",
    "is_decaying",
    default=True,
    show_default=True,
    help="Mark active facts whose retention fell below the threshold as forgotten.",
)
@click.option(
    "--forget-below",
    type=click.FloatRange(0, 1),
    help="Retention threshold (default: consolidation.decay.forget_below).",
)
@click.option(
    "--older-than",
    type=TIME,
    help="Remove inactive facts last changed before this (ISO date/time or an age like 90d).",
)
@click.option(
    "--status",
    "statuses",
    type=click.Choice(_INACTIVE),
    multiple=True,
    help="Statuses --older-than removes (default: all inactive ones). Repeatable.",
)
@click.option("--erase", is_flag=True, help="Erase everything of the scope, with its history.")
@click.option("--erase-history", is_flag=True, help="Remove the history of removed facts too.")
@click.option(
    "--dry-run", "is_dry_run_flag", is_flag=True, help="Only show what would change (default)."
)
@click.option("--yes", "-y", "is_applying", is_flag=True, help="Apply the changes.")
@json_option
@pass_state
def prune_command(
    state: CliState,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    is_decaying: bool,
    forget_below: float | None,
    older_than: datetime | None,
    statuses: tuple[str, ...],
    erase: bool,
    erase_history: bool,
    is_dry_run_flag: bool,
    is_applying: bool,
    as_json: bool,
) -> None:
    """Forget decayed facts, remove old superseded/forgotten ones, or erase a scope.

    Shows the counts of what would change; nothing changes without --yes.
    """
    from memsvc.service.prune import count_scope

    if is_dry_run_flag and is_applying:
        raise InvalidInput("--dry-run and --yes contradict each other")
    has_scope = any(v is not None for v in (user_id, agent_id, session_id))
    scope = Scope(user_id, agent_id, session_id) if has_scope else None
    is_dry_run = not is_applying
    service = state.service()
    ns_id = service.namespace_id(state.namespace)
    if erase:
        if scope is None:
            raise InvalidInput("--erase needs a scope (--user-id, --agent-id or --session-id)")
        counts = count_scope(service.begin, namespace_id=ns_id, scope=scope)
        if not is_dry_run:
            service.delete_all(scope=scope, namespace=state.namespace)
        _report(
            {
                f"{'would_erase' if is_dry_run else 'erased'}_{kind}": n
                for kind, n in counts.items()
            },
            is_dry_run=is_dry_run,
            as_json=as_json,
            details={"scope": scope.as_dict()},
        )
        return
    report = service.prune(
        scope=scope,
        forget_below=forget_below,
        is_decaying=is_decaying,
        older_than=older_than,
        statuses=statuses or _INACTIVE,
        erase_history=erase_history,
        dry_run=is_dry_run,
        namespace=state.namespace,
    )
    _report(
        report.counts(),
        is_dry_run=is_dry_run,
        as_json=as_json,
        details={
            "forgotten_ids": [f"fact_{i}" for i in report.forgotten],
            "removed_ids": {s: [f"fact_{i}" for i in ids] for s, ids in report.removed.items()},
        },
    )


def _report(
    counts: dict[str, int], *, is_dry_run: bool, as_json: bool, details: dict[str, Any]
) -> None:
    if as_json:
        emit_json({"dry_run": is_dry_run, "counts": counts, **details})
        return
    title = "Prune (dry run: nothing changed)" if is_dry_run else "Prune (applied)"
    table = Table(title=title, title_justify="left", min_width=len(title) + 2)
    table.add_column("action")
    table.add_column("count", justify="right")
    for name, n in counts.items():
        table.add_row(name.replace("_", " "), str(n))
    out = console()
    out.print(table)
    if is_dry_run and any(counts.values()):
        out.print("run again with --yes to apply")
