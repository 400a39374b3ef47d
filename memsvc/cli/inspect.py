"""``memsvc inspect USER``: a user's facts (validity, retention), episodes, summaries, profile,
entities, and the MemTree drawn as a tree."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from rich.panel import Panel
from rich.table import Table
from rich.tree import Tree

from memsvc.cli.context import CliState, MemoryApi, pass_state
from memsvc.cli.output import console, emit_json, fmt_time, json_option, short
from memsvc.cli.render import provenance, validity
from memsvc.policies.decay import half_life_days, retention
from memsvc.types import utcnow

if TYPE_CHECKING:
    from memsvc.schemas import EntityPublic, MemoryPublic

__all__ = ["inspect_command"]


@click.command("inspect")
@click.argument("user_id")
@click.option("--agent-id", "-a", help="Only this agent's memories of the user.")
@click.option("--session-id", "-S", help="Only this session.")
@click.option(
    "--all", "include_inactive", is_flag=True, help="Also superseded and forgotten facts."
)
@click.option(
    "--limit", type=click.IntRange(1), default=50, show_default=True, help="Rows per section."
)
@click.option(
    "--max-nodes",
    type=click.IntRange(1),
    default=500,
    show_default=True,
    help="MemTree nodes drawn.",
)
@json_option
@pass_state
def inspect_command(
    state: CliState,
    user_id: str,
    agent_id: str | None,
    session_id: str | None,
    include_inactive: bool,
    limit: int,
    max_nodes: int,
    as_json: bool,
) -> None:
    """Show what memsvc knows about USER_ID: facts, episodes, summaries, profile, entities,
    MemTree."""
    api = state.memory()
    scope = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}
    facts = _collect(api, scope, "fact", limit, include_inactive=include_inactive)
    episodes = _collect(api, scope, "episode", limit)
    summaries = _collect(api, scope, "summary", limit)
    nodes = _collect(api, scope, "tree_node", max_nodes)
    entities = list(api.entities(**scope, limit=min(limit, 1000)))
    tau = state.settings.consolidation.decay.tau_days
    now = utcnow()
    profile = next((s for s in summaries if s.attributes.get("summary_kind") == "profile"), None)
    others = [s for s in summaries if s is not profile]
    if as_json:
        emit_json(
            {
                "scope": {k: v for k, v in scope.items() if v is not None},
                "facts": [{**f.model_dump(mode="json"), **_decay(f, now, tau)} for f in facts],
                "episodes": episodes,
                "summaries": others,
                "profile": profile,
                "entities": entities,
                "tree": _tree_json(nodes),
            }
        )
        return
    out = console()
    out.print(_facts_table(facts, now=now, tau=tau))
    out.print(_episodes_table(episodes))
    out.print(_summaries_table(others))
    if profile is not None:
        out.print(Panel(profile.content, title=f"Profile ({profile.id})", title_align="left"))
    out.print(_entities_table(entities))
    out.print(_tree(nodes, title=f"MemTree of {user_id}"))


def _collect(
    api: MemoryApi, scope: dict[str, Any], kind: str, limit: int, *, include_inactive: bool = False
) -> list[MemoryPublic]:
    items: list[MemoryPublic] = []
    cursor: str | None = None
    while len(items) < limit:
        page = api.get_all(
            **scope,
            kinds=[kind],
            include_inactive=include_inactive,
            cursor=cursor,
            limit=min(1000, limit - len(items)),
        )
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return items


def _decay(fact: MemoryPublic, now: datetime, tau: float) -> dict[str, float | None]:
    """Retention and half-life of a fact now (MemoryBank's curve, ALGORITHMS.md §1.2)."""
    strength = fact.attributes.get("strength")
    if not isinstance(strength, int | float) or strength <= 0:
        return {"retention": None, "half_life_days": None}
    last = fact.attributes.get("last_recalled_at") or fact.created_at
    last_at = datetime.fromisoformat(last) if isinstance(last, str) else last
    value = retention(strength=float(strength), last_at=last_at, now=now, tau_days=tau)
    return {"retention": round(value, 4), "half_life_days": round(half_life_days(strength, tau), 2)}


def _facts_table(facts: list[MemoryPublic], *, now: datetime, tau: float) -> Table:
    table = Table(title=f"Facts ({len(facts)})", title_justify="left")
    for name in ("id", "status", "valid", "retention", "S", "recalls", "fact", "provenance"):
        table.add_column(name, overflow="fold", ratio=1 if name == "fact" else None)
    for f in facts:
        decay = _decay(f, now, tau)
        kept = decay["retention"]
        table.add_row(
            f.id,
            f.status,
            validity(f),
            "-" if kept is None else f"{kept:.2f} (½ {decay['half_life_days']}d)",
            _number(f.attributes.get("strength")),
            f"{f.attributes.get('recall_count', 0)}",
            short(f.content, 160),
            provenance(f),
        )
    return table


def _number(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"


def _episodes_table(episodes: list[MemoryPublic]) -> Table:
    table = Table(title=f"Episodes ({len(episodes)})", title_justify="left")
    for name in ("id", "from", "to", "events", "boundary", "summary"):
        table.add_column(name, overflow="fold", ratio=1 if name == "summary" else None)
    for e in episodes:
        attrs = e.attributes
        table.add_row(
            e.id,
            fmt_time(attrs.get("started_at")),
            fmt_time(attrs.get("ended_at")),
            str(attrs.get("event_count", "-")),
            str(attrs.get("boundary_reason", "-")),
            short(e.content, 160),
        )
    return table


def _summaries_table(summaries: list[MemoryPublic]) -> Table:
    table = Table(title=f"Summaries ({len(summaries)})", title_justify="left")
    for name in ("id", "kind", "key", "when", "summary"):
        table.add_column(name, overflow="fold", ratio=1 if name == "summary" else None)
    for s in summaries:
        table.add_row(
            s.id,
            str(s.attributes.get("summary_kind", "-")),
            str(s.attributes.get("key", "-")),
            fmt_time(s.occurred_at),
            short(s.content, 160),
        )
    return table


def _entities_table(entities: list[EntityPublic]) -> Table:
    table = Table(title=f"Entities ({len(entities)})", title_justify="left")
    for name in ("name", "type", "events", "facts"):
        table.add_column(name, overflow="fold", ratio=1 if name == "name" else None)
    for e in entities:
        table.add_row(short(e.name, 80), e.type, str(e.events), str(e.facts))
    return table


def _children(nodes: list[MemoryPublic]) -> dict[int | None, list[MemoryPublic]]:
    known = {_node_id(n) for n in nodes}
    out: dict[int | None, list[MemoryPublic]] = {}
    for node in nodes:
        parent = node.attributes.get("parent_id")
        out.setdefault(parent if parent in known else None, []).append(node)
    for group in out.values():
        group.sort(key=_node_id)
    return out


def _node_id(node: MemoryPublic) -> int:
    return int(node.id.rpartition("_")[2])


def _label(node: MemoryPublic) -> str:
    attrs = node.attributes
    if attrs.get("parent_id") is None and not node.content:
        n = int(attrs.get("child_count", 0))
        return f"[bold]root[/bold] {node.id} ({n} {'child' if n == 1 else 'children'})"
    leaf = ""
    if attrs.get("fact_id"):
        leaf = f" → fact_{attrs['fact_id']}"
    elif attrs.get("episode_id"):
        leaf = f" → episode_{attrs['episode_id']}"
    text = short(node.content, 100).replace("[", "\\[")
    return f"{node.id} d{attrs.get('depth', '?')}{leaf}: {text}"


def _tree(nodes: list[MemoryPublic], *, title: str) -> Tree:
    tree = Tree(f"[bold]{title}[/bold] ({len(nodes)} nodes)")
    if not nodes:
        tree.add("(empty: consolidation has not built a tree yet)")
        return tree
    children = _children(nodes)
    stack: list[tuple[Tree, MemoryPublic]] = [(tree, n) for n in reversed(children.get(None, []))]
    while stack:
        parent, node = stack.pop()
        branch = parent.add(_label(node))
        stack.extend((branch, c) for c in reversed(children.get(_node_id(node), [])))
    return tree


def _tree_json(nodes: list[MemoryPublic]) -> list[dict[str, Any]]:
    children = _children(nodes)

    def build(node: MemoryPublic) -> dict[str, Any]:
        return {
            "id": node.id,
            "depth": node.attributes.get("depth"),
            "content": node.content,
            "fact_id": node.attributes.get("fact_id"),
            "episode_id": node.attributes.get("episode_id"),
            "children": [build(c) for c in children.get(_node_id(node), [])],
        }

    return [build(root) for root in children.get(None, [])]
