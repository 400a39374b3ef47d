"""Lineage: what each derived memory was derived from, queryable both ways.

One row of the ``lineage`` table is one edge *derived <- source*: an episode from each of its
events, a fact from the events it was extracted from, a MemTree leaf from its fact or episode,
an inner tree node from each of its children, a session or day summary from its episodes, a
profile from its facts. Kinds are plain strings (``"fact"``, ``"tree_node"``, ...), so tables
of other modules can record their rows here too and :func:`register` how their rows are deleted
when their sources go (see :class:`DerivedKind`).

Stale marks (``stale_memory``) name derived memories whose sources changed: they are left out
of the indexes (:func:`stale_ids`) until :mod:`memsvc.consolidate.recompute` rebuilds them.

Every function takes a Session and never commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.store import tables as t
from memsvc.types import MemoryKind, MemoryRef, Scope

__all__ = [
    "REBUILD",
    "REFRESH",
    "DerivedKind",
    "Ref",
    "StaleMark",
    "clear_stale",
    "dependants",
    "descendants",
    "drop",
    "link",
    "mark_stale",
    "origins",
    "record_fact_sources",
    "record_tree_nodes",
    "ref_of",
    "register",
    "registered",
    "set_sources",
    "sources",
    "stale_ids",
    "stale_of_owner",
    "stale_owners",
]

Ref = tuple[str, int]
"""A lineage node: ``(kind, id)``, e.g. ``("fact", 7)``."""

REBUILD = "rebuild"
"""Stale because a source event changed: the owner's derived memory is consolidated again."""
REFRESH = "refresh"
"""Stale because a derived source changed: only the stale node itself is recomputed."""

_CHUNK = 500


def ref_of(ref: MemoryRef) -> Ref:
    """The lineage node of a memory reference."""
    return (ref.kind.value, ref.id)


@dataclass(frozen=True)
class DerivedKind:
    """How lineage reaches the rows of another module's table (the entity graph, ...).

    Attributes:
        kind: the string its rows use as ``derived_kind`` in the lineage table.
        delete: removes rows by id (in the caller's transaction); returns how many it removed.
            Called for rows whose every source was removed, and for stale rows when their
            owner is recomputed (the owning module derives them again in its own step).
        texts: the user text its rows hold, for purges (embedding-cache keys, verification).
        scope_ids: the ids of its rows that belong to a scope directly (scope erase).
    """

    kind: str
    delete: Callable[[Session, int, Sequence[int]], int]
    texts: Callable[[Session, int, Sequence[int]], list[str]] | None = None
    scope_ids: Callable[[Session, int, Scope], list[int]] | None = None


_REGISTRY: dict[str, DerivedKind] = {}


def register(kind: DerivedKind) -> None:
    """Make lineage delete (and purge) the rows of another module's derived table."""
    if kind.kind in {k.value for k in MemoryKind}:
        raise ValueError(f"{kind.kind} is a memory kind, handled by lineage itself")
    _REGISTRY[kind.kind] = kind


def registered() -> Mapping[str, DerivedKind]:
    """The derived kinds other modules registered."""
    return dict(_REGISTRY)


# -- writing edges -------------------------------------------------------------------------


def link(session: Session, namespace_id: int, derived: Ref, srcs: Iterable[Ref]) -> int:
    """Record that ``derived`` came (also) from each of ``srcs``; returns new edges."""
    wanted = {s for s in srcs if s != derived}
    if not wanted:
        return 0
    have = sources(session, namespace_id, [derived]).get(derived, set())
    new = sorted(wanted - have)
    if new:
        session.execute(
            sa.insert(t.Lineage),
            [
                {
                    "namespace_id": namespace_id,
                    "derived_kind": derived[0],
                    "derived_id": derived[1],
                    "source_kind": kind,
                    "source_id": sid,
                }
                for kind, sid in new
            ],
        )
    return len(new)


def set_sources(session: Session, namespace_id: int, derived: Ref, srcs: Iterable[Ref]) -> None:
    """Replace the sources of ``derived`` by exactly ``srcs``."""
    wanted = {s for s in srcs if s != derived}
    have = sources(session, namespace_id, [derived]).get(derived, set())
    gone = have - wanted
    for kind, sid in gone:
        session.execute(
            sa.delete(t.Lineage).where(
                t.Lineage.namespace_id == namespace_id,
                t.Lineage.derived_kind == derived[0],
                t.Lineage.derived_id == derived[1],
                t.Lineage.source_kind == kind,
                t.Lineage.source_id == sid,
            )
        )
    link(session, namespace_id, derived, wanted - have)


def drop(session: Session, namespace_id: int, refs: Iterable[Ref]) -> int:
    """Delete every edge that starts or ends at one of ``refs``; returns how many."""
    total = 0
    for kind, ids in _by_kind(refs).items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for kind_col, id_col in (
                (t.Lineage.derived_kind, t.Lineage.derived_id),
                (t.Lineage.source_kind, t.Lineage.source_id),
            ):
                result = session.execute(
                    sa.delete(t.Lineage).where(
                        t.Lineage.namespace_id == namespace_id,
                        kind_col == kind,
                        id_col.in_(chunk),
                    )
                )
                total += int(getattr(result, "rowcount", 0) or 0)
    return total


def record_fact_sources(
    session: Session, namespace_id: int, owner: Scope, *, changed_at: datetime
) -> int:
    """Link the owner's facts written at ``changed_at`` to the events they name as sources.

    Called at the end of a consolidation step: whatever the update decisions did (insert,
    merge, rewrite), ``source_event_ids`` says where a fact's text came from.
    """
    session.flush()
    clauses = [t.Fact.namespace_id == namespace_id, t.Fact.updated_at == changed_at]
    clauses.extend(getattr(t.Fact, name) == value for name, value in owner.as_dict().items())
    total = 0
    for fact_id, event_ids in session.execute(
        sa.select(t.Fact.id, t.Fact.source_event_ids).where(*clauses)
    ):
        total += link(
            session,
            namespace_id,
            ("fact", int(fact_id)),
            [("event", int(e)) for e in event_ids or []],
        )
    return total


def record_tree_nodes(session: Session, namespace_id: int, node_ids: Iterable[int]) -> None:
    """Set the sources of MemTree nodes from the tree: a leaf's fact or episode, a node's
    children."""
    session.flush()
    given = sorted(set(node_ids))
    kids: set[int] = set()
    for start in range(0, len(given), _CHUNK):
        kids.update(
            int(i)
            for i in session.scalars(
                sa.select(t.TreeNode.id).where(
                    t.TreeNode.parent_id.in_(given[start : start + _CHUNK]),
                    sa.or_(t.TreeNode.fact_id.is_not(None), t.TreeNode.episode_id.is_not(None)),
                )
            )
        )
    ids = sorted(set(given) | kids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        wanted: dict[int, set[Ref]] = {i: set() for i in chunk}
        for nid, fact_id, episode_id in session.execute(
            sa.select(t.TreeNode.id, t.TreeNode.fact_id, t.TreeNode.episode_id).where(
                t.TreeNode.id.in_(chunk)
            )
        ):
            if fact_id is not None:
                wanted[int(nid)].add(("fact", int(fact_id)))
            if episode_id is not None:
                wanted[int(nid)].add(("episode", int(episode_id)))
        for cid, parent in session.execute(
            sa.select(t.TreeNode.id, t.TreeNode.parent_id).where(t.TreeNode.parent_id.in_(chunk))
        ):
            if parent is not None:
                wanted[int(parent)].add(("tree_node", int(cid)))
        for nid, srcs in wanted.items():
            set_sources(session, namespace_id, ("tree_node", nid), srcs)


# -- reading edges -------------------------------------------------------------------------


def sources(session: Session, namespace_id: int, refs: Iterable[Ref]) -> dict[Ref, set[Ref]]:
    """The direct sources of each of ``refs`` ("where did fact 7 come from?")."""
    return _walk(session, namespace_id, refs, forward=False)


def dependants(session: Session, namespace_id: int, refs: Iterable[Ref]) -> dict[Ref, set[Ref]]:
    """The memories derived directly from each of ``refs`` ("what came from event 12?")."""
    return _walk(session, namespace_id, refs, forward=True)


def descendants(session: Session, namespace_id: int, refs: Iterable[Ref]) -> set[Ref]:
    """Everything derived from ``refs``, transitively (``refs`` themselves excluded)."""
    return _closure(session, namespace_id, refs, forward=True)


def origins(session: Session, namespace_id: int, refs: Iterable[Ref]) -> set[Ref]:
    """Everything ``refs`` were derived from, transitively (down to events)."""
    return _closure(session, namespace_id, refs, forward=False)


def _closure(
    session: Session, namespace_id: int, refs: Iterable[Ref], *, forward: bool
) -> set[Ref]:
    start = set(refs)
    seen: set[Ref] = set()
    frontier = set(start)
    while frontier:
        found = _walk(session, namespace_id, frontier, forward=forward)
        nxt = {r for rs in found.values() for r in rs} - seen - start
        seen |= nxt
        frontier = nxt
    return seen


def _walk(
    session: Session, namespace_id: int, refs: Iterable[Ref], *, forward: bool
) -> dict[Ref, set[Ref]]:
    if forward:
        key_kind, key_id = t.Lineage.source_kind, t.Lineage.source_id
        val_kind, val_id = t.Lineage.derived_kind, t.Lineage.derived_id
    else:
        key_kind, key_id = t.Lineage.derived_kind, t.Lineage.derived_id
        val_kind, val_id = t.Lineage.source_kind, t.Lineage.source_id
    out: dict[Ref, set[Ref]] = defaultdict(set)
    for kind, ids in _by_kind(refs).items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            stmt = sa.select(key_id, val_kind, val_id).where(
                t.Lineage.namespace_id == namespace_id, key_kind == kind, key_id.in_(chunk)
            )
            for kid, vkind, vid in session.execute(stmt):
                out[(kind, int(kid))].add((str(vkind), int(vid)))
    return dict(out)


def _by_kind(refs: Iterable[Ref]) -> dict[str, list[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for kind, rid in refs:
        out[kind].add(int(rid))
    return {k: sorted(v) for k, v in out.items()}


# -- stale marks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleMark:
    """A stale derived memory, the owner whose recompute will rebuild it, and how."""

    ref: Ref
    owner_key: str
    mode: str


def mark_stale(
    session: Session,
    namespace_id: int,
    refs: Iterable[Ref],
    *,
    owner_key: str,
    mode: str,
    now: datetime,
) -> int:
    """Mark memories stale (a rebuild mark is never weakened to a refresh); returns new marks."""
    wanted = set(refs)
    if not wanted:
        return 0
    existing: dict[Ref, str] = {}
    for kind, ids in _by_kind(wanted).items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            stmt = sa.select(t.StaleMemory.memory_id, t.StaleMemory.mode).where(
                t.StaleMemory.namespace_id == namespace_id,
                t.StaleMemory.memory_kind == kind,
                t.StaleMemory.memory_id.in_(chunk),
            )
            for mid, m in session.execute(stmt):
                existing[(kind, int(mid))] = str(m)
    new = [r for r in wanted if r not in existing]
    if new:
        session.execute(
            sa.insert(t.StaleMemory),
            [
                {
                    "namespace_id": namespace_id,
                    "memory_kind": kind,
                    "memory_id": rid,
                    "owner_key": owner_key,
                    "mode": mode,
                    "since": now,
                }
                for kind, rid in sorted(new)
            ],
        )
    if mode == REBUILD:
        for kind, rid in (r for r, m in existing.items() if m != REBUILD):
            session.execute(
                sa.update(t.StaleMemory)
                .where(
                    t.StaleMemory.namespace_id == namespace_id,
                    t.StaleMemory.memory_kind == kind,
                    t.StaleMemory.memory_id == rid,
                )
                .values(mode=REBUILD)
            )
    return len(new)


def stale_ids(session: Session, namespace_id: int, kind: str, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` (of one kind) are marked stale."""
    wanted = sorted(set(ids))
    out: set[int] = set()
    if not wanted:
        return out
    if (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(t.StaleMemory)
            .where(t.StaleMemory.namespace_id == namespace_id)
        )
        == 0
    ):
        return out
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        out.update(
            int(i)
            for i in session.scalars(
                sa.select(t.StaleMemory.memory_id).where(
                    t.StaleMemory.namespace_id == namespace_id,
                    t.StaleMemory.memory_kind == kind,
                    t.StaleMemory.memory_id.in_(chunk),
                )
            )
        )
    return out


def stale_of_owner(session: Session, namespace_id: int, owner_key: str) -> list[StaleMark]:
    """Every stale mark an owner's recompute will resolve."""
    stmt = sa.select(t.StaleMemory).where(
        t.StaleMemory.namespace_id == namespace_id, t.StaleMemory.owner_key == owner_key
    )
    return [
        StaleMark((row.memory_kind, int(row.memory_id)), row.owner_key, row.mode)
        for row in session.scalars(stmt)
    ]


def stale_owners(session: Session, namespace_id: int) -> list[str]:
    """The owners with stale memories, waiting for a recompute."""
    stmt = (
        sa.select(t.StaleMemory.owner_key)
        .where(t.StaleMemory.namespace_id == namespace_id)
        .distinct()
    )
    return sorted(str(k) for k in session.scalars(stmt))


def clear_stale(session: Session, namespace_id: int, refs: Iterable[Ref]) -> int:
    """Remove stale marks; returns how many."""
    total = 0
    for kind, ids in _by_kind(refs).items():
        for start in range(0, len(ids), _CHUNK):
            result = session.execute(
                sa.delete(t.StaleMemory).where(
                    t.StaleMemory.namespace_id == namespace_id,
                    t.StaleMemory.memory_kind == kind,
                    t.StaleMemory.memory_id.in_(ids[start : start + _CHUNK]),
                )
            )
            total += int(getattr(result, "rowcount", 0) or 0)
    return total
