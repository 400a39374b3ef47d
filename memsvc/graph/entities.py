"""The entity graph in SQL: entities of an owner scope and the events and facts that mention them.

Written by consolidation (:func:`link_memories`, one small call per episode, inside its write
transaction), rebuilt from the events and facts on demand (:func:`rebuild`), read by search
(:mod:`memsvc.graph.ppr`) and listed by :func:`list_entities` (``GET /v1/entities``).

Everything here is derived and recomputable. A mention row points at its event or fact with
``ON DELETE CASCADE``, so whichever path deletes a memory (a client's delete, ``delete_all``,
a prune, a recompute) deletes its mentions with it; :func:`drop_orphans` then removes entities
no memory mentions any more, so a name leaves the store with its last source. Facts that are no
longer active keep their mentions (history stays explorable) but are left out of the walk.

Mentions come from :func:`memsvc.graph.mentions.extract_mentions` over each text, plus, for a
fact with a (subject, value) pair, the subject (a person when it is a speaker) and the value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.graph.mentions import ENTITY_TYPES, Mention, extract_mentions, normalise
from memsvc.store import tables as t
from memsvc.store.jobs import scope_key
from memsvc.store.memories import scope_clause
from memsvc.types import Entity, Scope

__all__ = [
    "ENTITY_TYPES",
    "drop_orphans",
    "fact_mentions",
    "link_memories",
    "list_entities",
    "owner_scope",
    "rebuild",
]

logger = logging.getLogger(__name__)

_CHUNK = 500
#: Subjects that name no one (a first-person fact not yet resolved to a person).
_NO_SUBJECT = frozenset({"user", "i", "me", "we", "you", "assistant", "speaker"})


def owner_scope(scope: Scope) -> Scope:
    """Whose graph a scope reads and writes: entities outlive sessions (as facts do)."""
    if scope.user_id is None and scope.agent_id is None:
        return scope
    return Scope(user_id=scope.user_id, agent_id=scope.agent_id)


def fact_mentions(
    text: str,
    *,
    subject: str | None,
    value: str | None,
    known: Iterable[str],
    people: Iterable[str],
) -> list[Mention]:
    """The mentions of a fact: its text's, plus its triple's subject and value when present."""
    people = set(people)
    found = {m.key: m for m in extract_mentions(text, known=set(known), people=people)}
    for role, name in (("subject", subject), ("value", value)):
        if not name or name.strip().lower() in _NO_SUBJECT:
            continue
        key = normalise(name)
        if not key or len(key) > 200:
            continue
        typed = next((m.type for m in extract_mentions(name, people=people)), "thing")
        if role == "subject" and key in people:
            typed = "person"
        found[key] = Mention(key, name.strip()[:256], typed, role)
    return list(found.values())


class _Linker:
    """Entities of one owner scope, loaded once, created as mentions need them."""

    def __init__(self, session: Session, namespace_id: int, owner: Scope, now: datetime) -> None:
        self.session, self.ns_id, self.owner, self.now = session, namespace_id, owner, now
        self.owner_key = scope_key(owner)
        rows = session.execute(
            sa.select(t.Entity.id, t.Entity.key, t.Entity.type).where(
                t.Entity.namespace_id == namespace_id, t.Entity.owner_key == self.owner_key
            )
        )
        self.ids: dict[str, int] = {}
        self.types: dict[str, str] = {}
        for entity_id, key, typed in rows:
            self.ids[key] = entity_id
            self.types[key] = typed
        self.people = {k for k, typed in self.types.items() if typed == "person"}
        self.people |= {normalise(s) for s in _speakers(session, namespace_id, owner)}
        self.people.discard("")

    @property
    def known(self) -> set[str]:
        return {k for k, typed in self.types.items() if typed != "thing"} | self.people

    def entity(self, mention: Mention) -> int:
        found = self.ids.get(mention.key)
        if found is not None:
            old = self.types[mention.key]
            if ENTITY_TYPES.index(mention.type) < ENTITY_TYPES.index(old):
                self.session.execute(
                    sa.update(t.Entity)
                    .where(t.Entity.id == found)
                    .values(type=mention.type, updated_at=self.now)
                )
                self.types[mention.key] = mention.type
            return found
        row = t.Entity(
            namespace_id=self.ns_id,
            **self.owner.as_dict(),
            owner_key=self.owner_key,
            key=mention.key[:256],
            name=mention.name[:256],
            type=mention.type,
            created_at=self.now,
            updated_at=self.now,
        )
        self.session.add(row)
        self.session.flush()
        self.ids[mention.key], self.types[mention.key] = row.id, mention.type
        if mention.type == "person":
            self.people.add(mention.key)
        return row.id

    def write(
        self, mentions: Sequence[Mention], *, event_id: int | None, fact_id: int | None
    ) -> int:
        rows = [
            {
                "namespace_id": self.ns_id,
                "owner_key": self.owner_key,
                "entity_id": self.entity(m),
                "event_id": event_id,
                "fact_id": fact_id,
                "role": m.role,
                "created_at": self.now,
            }
            for m in mentions
        ]
        if rows:
            self.session.execute(sa.insert(t.EntityMention), rows)
        return len(rows)


def _speakers(session: Session, namespace_id: int, owner: Scope) -> list[str]:
    stmt = (
        sa.select(t.Event.speaker)
        .where(scope_clause(t.Event, namespace_id, owner), t.Event.speaker.is_not(None))
        .distinct()
        .limit(200)
    )
    return [s for s in session.scalars(stmt) if s]


def link_memories(
    session: Session,
    namespace_id: int,
    owner: Scope,
    *,
    events: Sequence[t.Event] = (),
    fact_ids: Sequence[int] = (),
    now: datetime,
    things: bool = True,
) -> int:
    """(Re)write the mentions of these events and facts in the caller's transaction.

    Existing mentions of the same memories are replaced, so calling it again (a retried job, a
    rewritten fact) leaves one set. Returns the number of mentions written.
    """
    if not events and not fact_ids:
        return 0
    _forget_links(session, [e.id for e in events], list(fact_ids))
    linker = _Linker(session, namespace_id, owner, now)
    written = 0
    for event in events:
        mentions = extract_mentions(
            event.content,
            speaker=event.speaker,
            known=linker.known,
            people=linker.people,
            things=things,
        )
        written += linker.write(mentions, event_id=event.id, fact_id=None)
    for start in range(0, len(fact_ids), _CHUNK):
        chunk = list(fact_ids[start : start + _CHUNK])
        for fact in session.scalars(sa.select(t.Fact).where(t.Fact.id.in_(chunk))):
            mentions = fact_mentions(
                fact.text,
                subject=fact.subject,
                value=fact.object,
                known=linker.known,
                people=linker.people,
            )
            written += linker.write(mentions, event_id=None, fact_id=fact.id)
    return written


def _forget_links(session: Session, event_ids: list[int], fact_ids: list[int]) -> None:
    for column, ids in ((t.EntityMention.event_id, event_ids), (t.EntityMention.fact_id, fact_ids)):
        for start in range(0, len(ids), _CHUNK):
            session.execute(
                sa.delete(t.EntityMention).where(column.in_(ids[start : start + _CHUNK]))
            )


def drop_orphans(session: Session, namespace_id: int, owner: Scope | None = None) -> int:
    """Delete entities that no event or fact mentions any more; returns how many."""
    mentioned = sa.select(t.EntityMention.id).where(t.EntityMention.entity_id == t.Entity.id)
    stmt = sa.delete(t.Entity).where(t.Entity.namespace_id == namespace_id, ~mentioned.exists())
    if owner is not None:
        stmt = stmt.where(t.Entity.owner_key == scope_key(owner))
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def rebuild(
    session: Session, namespace_id: int, owner: Scope, *, now: datetime, things: bool = True
) -> int:
    """Recompute the owner's whole graph from its events and facts; returns mentions written."""
    key = scope_key(owner)
    session.execute(
        sa.delete(t.EntityMention).where(
            t.EntityMention.namespace_id == namespace_id, t.EntityMention.owner_key == key
        )
    )
    session.execute(
        sa.delete(t.Entity).where(t.Entity.namespace_id == namespace_id, t.Entity.owner_key == key)
    )
    events = list(
        session.scalars(
            sa.select(t.Event)
            .where(scope_clause(t.Event, namespace_id, owner))
            .order_by(t.Event.occurred_at, t.Event.id)
        )
    )
    facts = list(
        session.scalars(
            sa.select(t.Fact.id)
            .where(scope_clause(t.Fact, namespace_id, owner))
            .order_by(t.Fact.id)
        )
    )
    written = link_memories(
        session, namespace_id, owner, events=events, fact_ids=facts, now=now, things=things
    )
    logger.debug(
        "graph rebuilt: %d events, %d facts, %d mentions", len(events), len(facts), written
    )
    return written


def list_entities(
    session: Session,
    namespace_id: int,
    scope: Scope,
    *,
    types: Iterable[str] | None = None,
    query: str | None = None,
    limit: int = 100,
) -> list[Entity]:
    """The entities of the scope's owner, most mentioned first.

    Args:
        scope: the scope; its owner's entities are listed (entities outlive sessions).
        types: only these types.
        query: only entities whose key contains this (normalised) text.
        limit: the most entities returned.
    """
    owner = owner_scope(scope)
    events = sa.func.count(t.EntityMention.event_id)
    facts = sa.func.count(t.EntityMention.fact_id)
    stmt = (
        sa.select(t.Entity, events, facts)
        .join(t.EntityMention, t.EntityMention.entity_id == t.Entity.id)
        .where(t.Entity.namespace_id == namespace_id, t.Entity.owner_key == scope_key(owner))
        .group_by(t.Entity.id)
        .order_by((events + facts).desc(), t.Entity.key)
        .limit(limit)
    )
    if types:
        stmt = stmt.where(t.Entity.type.in_(list(types)))
    if query:
        needle = normalise(query)
        if needle:
            stmt = stmt.where(t.Entity.key.contains(needle, autoescape=True))
    return [
        Entity(
            id=row.id,
            key=row.key,
            name=row.name,
            type=row.type,
            events=int(n_events),
            facts=int(n_facts),
            scope=Scope(user_id=row.user_id, agent_id=row.agent_id, session_id=row.session_id),
        )
        for row, n_events, n_facts in session.execute(stmt)
    ]
