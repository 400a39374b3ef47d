"""``memsvc db upgrade|current|downgrade|check``: the alembic migrations shipped in the package."""

from __future__ import annotations

import click

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.output import console, emit_json, json_option, key_value_table
from memsvc.errors import InvalidInput

__all__ = ["db_group"]


@click.group("db")
def db_group() -> None:
    """Database schema: migrate up or down, show the revision, compare with the models."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@json_option
@pass_state
def upgrade_command(state: CliState, revision: str, as_json: bool) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from memsvc.store import migrate

    migrate.upgrade(state.settings.db, revision)
    _report(state, as_json=as_json, action=f"upgraded to {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@click.option(
    "--yes", "-y", "is_confirmed", is_flag=True, help="Confirm: a downgrade can drop data."
)
@json_option
@pass_state
def downgrade_command(state: CliState, revision: str, is_confirmed: bool, as_json: bool) -> None:
    """Migrate the database down to REVISION ('base' drops every table)."""
    if not is_confirmed:
        raise InvalidInput("a downgrade can drop tables and data; repeat with --yes")
    from memsvc.store import migrate

    migrate.downgrade(state.settings.db, revision)
    _report(state, as_json=as_json, action=f"downgraded to {revision}")


@db_group.command("current")
@json_option
@pass_state
def current_command(state: CliState, as_json: bool) -> None:
    """Show the database's revision and the newest shipped one."""
    _report(state, as_json=as_json, action=None)


@db_group.command("check")
@json_option
@pass_state
def check_command(state: CliState, as_json: bool) -> None:
    """Compare the database schema with the models (exit status 1 on a difference)."""
    from memsvc.store import migrate

    diffs = migrate.check(state.settings.db)
    lines = [_describe(d) for d in diffs]
    if as_json:
        emit_json({"ok": not diffs, "differences": lines})
    elif diffs:
        out = console()
        out.print(f"{len(diffs)} difference(s) between the database and the models:")
        for line in lines:
            out.print(f"  {line}", markup=False)
    else:
        console().print("the database matches the models")
    if diffs:
        raise click.exceptions.Exit(1)


def _describe(diff: object) -> str:
    if isinstance(diff, tuple) and diff:
        return " ".join(str(part) for part in diff[:2])
    if isinstance(diff, list) and diff:
        return "; ".join(_describe(d) for d in diff)
    return str(diff)


def _report(state: CliState, *, as_json: bool, action: str | None) -> None:
    from memsvc.store import migrate

    cfg = state.settings.db
    current = migrate.current(cfg)
    head = migrate.head()
    data = {
        "url": _safe_url(cfg.url),
        "current": current,
        "head": head,
        "up_to_date": current == head,
    }
    if action is not None:
        data["done"] = action
    if as_json:
        emit_json(data)
        return
    console().print(key_value_table("Database", data))


def _safe_url(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)
