"""``memsvc keys create|list|revoke``: namespaces (tenants) and their API keys."""

from __future__ import annotations

import click
from rich.table import Table

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.output import console, emit_json, fmt_time, json_option, key_value_table
from memsvc.errors import InvalidInput

__all__ = ["keys_group"]


@click.group("keys")
def keys_group() -> None:
    """API keys: create (with its namespace when new), list, revoke."""


@keys_group.command("create")
@click.option(
    "--namespace",
    "key_namespace",
    help="Namespace of the key (default: --namespace or the setting).",
)
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@click.option("--admin", "is_admin", is_flag=True, help="Allow the admin routes.")
@click.option(
    "--secret-only",
    "is_secret_only",
    is_flag=True,
    help="Print only the secret (for export MEMSVC_API_KEY=$(memsvc keys create ...)).",
)
@json_option
@pass_state
def create_command(
    state: CliState,
    key_namespace: str | None,
    name: str,
    is_admin: bool,
    is_secret_only: bool,
    as_json: bool,
) -> None:
    """Create an API key; its secret is shown once and never stored."""
    service = state.service()
    namespace = key_namespace or state.namespace or service.settings.namespace
    created = service.create_key(namespace=namespace, name=name, is_admin=is_admin)
    data = {
        "id": created.id,
        "namespace": created.namespace,
        "name": created.name,
        "is_admin": created.is_admin,
        "secret": created.secret,
    }
    if is_secret_only:
        click.echo(created.secret)
        return
    if as_json:
        emit_json(data)
        return
    out = console()
    out.print(key_value_table("API key created", data))
    out.print("store the secret now: it cannot be shown again")


@keys_group.command("list")
@click.option("--namespace", "key_namespace", help="Only this namespace's keys.")
@json_option
@pass_state
def list_command(state: CliState, key_namespace: str | None, as_json: bool) -> None:
    """List API keys (prefixes only, never secrets)."""
    keys = state.service().list_keys(namespace=key_namespace or state.namespace)
    if as_json:
        emit_json(keys)
        return
    table = Table(title="API keys", title_justify="left")
    for column in ("id", "namespace", "name", "prefix", "admin", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            str(k["id"]),
            k["namespace"],
            k["name"],
            k["prefix"] + "…",
            "yes" if k["is_admin"] else "no",
            fmt_time(k["created_at"]),
            fmt_time(k["last_used_at"]),
            fmt_time(k["revoked_at"]),
        )
    console().print(table)


@keys_group.command("revoke")
@click.argument("key_id", type=int)
@json_option
@pass_state
def revoke_command(state: CliState, key_id: int, as_json: bool) -> None:
    """Revoke the key with id KEY_ID."""
    if not state.service().revoke_key(key_id):
        raise InvalidInput(f"no live API key with id {key_id}")
    if as_json:
        emit_json({"revoked": key_id})
        return
    console().print(f"revoked key {key_id}")
