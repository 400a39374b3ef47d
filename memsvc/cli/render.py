"""Rich tables for memories, search hits and history (the human side of the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table

from memsvc.cli.output import fmt_time, short

if TYPE_CHECKING:
    from memsvc.schemas import HistoryEntryPublic, HitPublic, MemoryPublic

__all__ = ["history_table", "hits_table", "memory_table", "provenance", "validity"]


def validity(memory: MemoryPublic) -> str:
    """When the memory holds: ``from → to`` for facts, the time for other kinds."""
    if memory.kind != "fact":
        return fmt_time(memory.occurred_at)
    start = fmt_time(memory.valid_from or memory.occurred_at)
    end = fmt_time(memory.valid_to) if memory.valid_to else "now"
    return f"{start} → {end}"


def provenance(memory: MemoryPublic, refs: Sequence[str] = ()) -> str:
    """Where a memory came from: client refs, source events, episode (first few of each)."""
    parts: list[str] = []
    own = memory.metadata.get("ref")
    if not refs and isinstance(own, str | int):
        refs = [str(own)]
    if refs:
        parts.append("ref " + ",".join(refs[:3]) + ("…" if len(refs) > 3 else ""))
    sources = [s for s in memory.source_event_ids if s != memory.id]
    if sources:
        parts.append(",".join(sources[:3]) + (f" +{len(sources) - 3}" if len(sources) > 3 else ""))
    if memory.episode_id and memory.episode_id != memory.id:
        parts.append(memory.episode_id)
    superseded_by = memory.attributes.get("superseded_by")
    if superseded_by:
        parts.append(f"→ {superseded_by}")
    return "; ".join(parts) or "-"


def _who(memory: MemoryPublic) -> str:
    who = memory.speaker or memory.role
    return f"{who}: " if memory.kind == "event" and who else ""


def memory_table(items: Sequence[MemoryPublic], *, title: str = "Memories") -> Table:
    """One row per memory: id, kind, status, validity, content, provenance."""
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("kind")
    table.add_column("status")
    table.add_column("valid / when", no_wrap=True)
    table.add_column("content", overflow="fold", ratio=1)
    table.add_column("provenance", overflow="fold")
    for m in items:
        table.add_row(
            m.id, m.kind, m.status, validity(m), _who(m) + short(m.content, 200), provenance(m)
        )
    return table


def hits_table(hits: Sequence[HitPublic], *, is_explained: bool = False) -> Table:
    """Search hits, best first, with score, kind, validity and provenance."""
    table = Table(title="Results", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("kind")
    table.add_column("id", no_wrap=True)
    table.add_column("valid / when", no_wrap=True)
    table.add_column("content", overflow="fold", ratio=1)
    table.add_column("provenance", overflow="fold")
    if is_explained:
        table.add_column("score parts", overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        m = hit.memory
        status = "" if m.status == "active" else f" [{m.status}]"
        row = [
            str(rank),
            f"{hit.score:.3f}",
            m.kind + status,
            m.id,
            validity(m),
            _who(m) + short(m.content, 200),
            provenance(m, hit.source_refs),
        ]
        if is_explained:
            row.append(" ".join(f"{k}={v:.3f}" for k, v in sorted(hit.score_parts.items())))
        table.add_row(*row)
    return table


def history_table(entries: Sequence[HistoryEntryPublic], *, memory_id: str) -> Table:
    """Every change of one memory, oldest first."""
    table = Table(title=f"History of {memory_id}", title_justify="left")
    table.add_column("when", no_wrap=True)
    table.add_column("operation")
    table.add_column("actor")
    table.add_column("reason", overflow="fold")
    table.add_column("change", overflow="fold", ratio=1)
    for e in entries:
        table.add_row(fmt_time(e.created_at), e.operation, e.actor, short(e.reason, 120), _diff(e))
    return table


def _diff(entry: HistoryEntryPublic) -> str:
    before, after = entry.before or {}, entry.after or {}
    if not before and after:
        return short(str(after.get("content") or after.get("text") or after.get("summary")), 160)
    if before and not after:
        return "removed"
    changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    parts = [
        f"{k}: {short(str(before.get(k)), 60)} → {short(str(after.get(k)), 60)}" for k in changed
    ]
    return "; ".join(parts) or "-"
