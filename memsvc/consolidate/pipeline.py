"""The consolidation pipeline: bring a scope's derived memory up to date with its events.

A job names a scope. Running it:

1. loads the scope's events not yet in an episode, in event-time order;
2. cuts them into episodes by surprise (memsvc.policies.segment);
3. for each episode, in one transaction: the episode row, its summary, and the facts extracted
   from it, each decided against the most similar active facts (ADD / MERGE / UPDATE /
   INVALIDATE, memsvc.policies.update), with history and change-log rows;
4. inserts new facts and episode summaries into the MemTree (memsvc.consolidate.tree);
5. refreshes the session, day and profile summaries that are stale.

Every step is idempotent and derives its work from the database (events without an episode,
facts without a tree leaf, summaries older than their sources), so a job interrupted anywhere
is completed by its retry, and nothing is applied twice. Language-model calls happen outside
write transactions, so SQLite's single writer is never held while a model thinks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.config import Settings
from memsvc.consolidate.facts import apply_plan
from memsvc.consolidate.summaries import refresh_summaries
from memsvc.consolidate.tree import TreeBuilder
from memsvc.embed.cache import CachedEmbedder
from memsvc.index.base import IndexFilter
from memsvc.index.documents import index_text
from memsvc.index.ids import decode_key
from memsvc.index.sync import IndexSync
from memsvc.llm.base import LLMTasks, SurpriseModel
from memsvc.llm.relations import RelationNormaliser, reading_of
from memsvc.llm.slots import slot_of
from memsvc.llm.triples import cue_of
from memsvc.policies.cardinality import RelationEvidence, is_single_valued
from memsvc.policies.segment import Segment, Segmenter, SegmentItem
from memsvc.policies.update import HistoricFact, LLMUpdatePolicy
from memsvc.store import change_log
from memsvc.store import tables as t
from memsvc.store.jobs import JobRow
from memsvc.store.memories import get_rows, scope_clause
from memsvc.types import (
    FactCandidate,
    FactStatus,
    KnownFact,
    MemoryKind,
    Scope,
    SummaryKind,
    Turn,
    ValueType,
    utcnow,
)

__all__ = ["ConsolidationPipeline", "owner_of", "speaker_of"]

logger = logging.getLogger(__name__)

_CONTEXT_TURNS = 4
_SLOT_SCAN = 200
_EVIDENCE_SCAN = 500
_HISTORY_SCAN = 50
#: Relation similarity (values masked) below which a fact of the same subject is not shown.
_RIVAL_FLOOR = 0.5
_ROLE_NAMES = frozenset({"user", "assistant", "system", "tool"})


def owner_of(scope: Scope) -> Scope:
    """Whose long-term memory a scope feeds: facts, the tree and profiles outlive sessions."""
    if scope.user_id is None and scope.agent_id is None:
        return scope
    return Scope(user_id=scope.user_id, agent_id=scope.agent_id)


@dataclass
class _NewFact:
    id: int
    text: str
    vector: np.ndarray
    valid_from: object


def speaker_of(event: t.Event) -> str:
    """Who said an event: its speaker, else for the user's own turns the user's id as a name
    ("alice" -> "Alice"), never the bare role "User"."""
    if event.speaker:
        return event.speaker
    if event.role in _ROLE_NAMES and event.role == "user" and event.user_id:
        name = event.user_id
        return name[:1].upper() + name[1:]
    return event.role


def _value_type(value: str | None) -> ValueType | None:
    try:
        return ValueType(value) if value else None
    except ValueError:
        return None


class ConsolidationPipeline:
    """Runs consolidation jobs; see the module docstring for the steps."""

    def __init__(
        self,
        *,
        settings: Settings,
        begin: Callable[[], AbstractContextManager[Session]],
        embedder: CachedEmbedder,
        indexes: IndexSync,
        llm: LLMTasks,
    ) -> None:
        self._cfg = settings.consolidation
        self._begin = begin
        self._embedder = embedder
        self._indexes = indexes
        self._llm = llm
        self._policy = LLMUpdatePolicy(llm, self._cfg.decay)
        self._relations = RelationNormaliser(embedder, threshold=self._cfg.facts.relation_threshold)
        self._tree = TreeBuilder(
            cfg=self._cfg.memtree, begin=begin, embedder=embedder, llm=llm, indexes=indexes
        )

    def rebuild_tree(self, namespace_id: int, scope: Scope) -> int:
        """Rebuild the MemTree of the scope's owner from its facts and episodes."""
        inserted = self._tree.rebuild(namespace_id, owner_of(scope))
        self._indexes.catch_up(namespace_id)
        return inserted

    def run(self, job: JobRow) -> None:
        """Consolidate the job's scope (idempotent)."""
        ns_id, scope = job.namespace_id, job.scope
        owner = owner_of(scope)
        events = self._pending_events(ns_id, scope)
        if events:
            for segment in self._segments(events):
                chosen = [events[k] for k in segment.keys]
                self._episode(ns_id, owner, chosen, segment)
                self._indexes.catch_up(ns_id)
        self._tree.insert_pending(ns_id, owner)
        refresh_summaries(
            begin=self._begin, llm=self._llm, namespace_id=ns_id, owner=owner, now=utcnow()
        )
        self._indexes.catch_up(ns_id)

    # -- steps ------------------------------------------------------------------------------

    def _pending_events(self, ns_id: int, scope: Scope) -> dict[int, t.Event]:
        with self._begin() as session:
            stmt = (
                sa.select(t.Event)
                .where(scope_clause(t.Event, ns_id, scope), t.Event.episode_id.is_(None))
                .order_by(t.Event.occurred_at, t.Event.id)
            )
            return {row.id: row for row in session.scalars(stmt)}

    def _segments(self, events: dict[int, t.Event]) -> list[Segment]:
        rows = list(events.values())
        # Content only: a "Speaker:" prefix makes every turn of a speaker look alike and hides
        # topic shifts (session-boundary recall 0.66 -> 0.51 on LoCoMo conversations 0-2).
        vectors = self._embedder.embed([r.content for r in rows])
        model = self._llm if isinstance(self._llm, SurpriseModel) else None
        segmenter = Segmenter(self._cfg.segmentation, surprise_model=model)
        out: list[Segment] = []
        for row, vec in zip(rows, vectors, strict=True):
            item = SegmentItem(
                key=row.id,
                embedding=vec,
                occurred_at=row.occurred_at,
                session_id=row.session_id,
                text=index_text(row) if model is not None else None,
            )
            out.extend(segmenter.push(item))
        out.extend(segmenter.flush())
        return out

    def _episode(
        self, ns_id: int, owner: Scope, events: Sequence[t.Event], segment: Segment
    ) -> None:
        turns = [
            Turn(
                event_id=e.id,
                speaker=speaker_of(e),
                role=e.role,
                text=e.content,
                occurred_at=e.occurred_at,
                session_id=e.session_id,
            )
            for e in events
        ]
        summary = self._llm.summarize(
            [f"{t_.speaker}: {t_.text}" for t_ in turns], SummaryKind.EPISODE
        )
        context = self._context_turns(ns_id, events[0])
        candidates = self._with_relations(ns_id, self._llm.extract_facts(turns, context=context))
        vectors = self._embedder.embed([c.text for c in candidates]) if candidates else None
        now = utcnow()
        first = events[0]
        self._indexes.get(ns_id)  # loaded (and caught up) before the write transaction opens
        with self._begin() as session:
            episode = t.Episode(
                namespace_id=ns_id,
                user_id=first.user_id,
                agent_id=first.agent_id,
                session_id=first.session_id,
                started_at=events[0].occurred_at,
                ended_at=events[-1].occurred_at,
                event_count=len(events),
                summary=summary,
                boundary_reason=segment.end_reason.value,
                created_at=now,
                updated_at=now,
            )
            session.add(episode)
            session.flush()
            claimed = session.execute(
                sa.update(t.Event)
                .where(t.Event.id.in_([e.id for e in events]), t.Event.episode_id.is_(None))
                .values(episode_id=episode.id)
            )
            if int(getattr(claimed, "rowcount", 0) or 0) != len(events):
                raise RuntimeError("events were consolidated concurrently; retrying the job")
            change_log.append(
                session,
                namespace_id=ns_id,
                kind=MemoryKind.EPISODE,
                memory_ids=[episode.id],
                op="upsert",
                now=now,
            )
            fresh: list[_NewFact] = []
            for i, candidate in enumerate(candidates):
                assert vectors is not None
                neighbours = self._neighbours(session, ns_id, owner, vectors[i], fresh)
                neighbours = self._with_slot_rivals(session, ns_id, owner, candidate, neighbours)
                neighbours = self._with_relation_rivals(
                    session, ns_id, owner, candidate, neighbours
                )
                history = self._history_rivals(session, ns_id, owner, candidate)
                plan = self._policy.plan(candidate, neighbours, history)
                for fact_id in apply_plan(
                    session, plan, namespace_id=ns_id, owner=owner, episode_id=episode.id, now=now
                ):
                    fresh.append(
                        _NewFact(fact_id, candidate.text, vectors[i], candidate.occurred_at)
                    )
        logger.debug(
            "episode of %d events consolidated: %d candidate facts", len(events), len(candidates)
        )

    def _with_relations(
        self, ns_id: int, candidates: Sequence[FactCandidate]
    ) -> list[FactCandidate]:
        """Name each triple's relation and decide whether it holds one value at a time."""
        triples = [
            i
            for i, c in enumerate(candidates)
            if c.subject and c.predicate and c.object and c.relation is None
        ]
        out = list(candidates)
        names = self._relations.name(
            [
                reading_of(str(c.subject), str(c.predicate), str(c.object), c.value_type)
                for c in (candidates[i] for i in triples)
            ]
        )
        for i, name in zip(triples, names, strict=True):
            out[i] = replace(out[i], relation=name)
        wanted = {c.relation for c in out if c.relation}
        evidence = self._evidence(ns_id, wanted) if wanted else {}
        cfg, priors = self._cfg.facts, self._relations.single_valued
        for i, c in enumerate(out):
            if c.relation and c.single_valued is None:
                single = is_single_valued(
                    c.relation,
                    evidence=evidence.get(c.relation, RelationEvidence()),
                    prior=priors.get(c.relation),
                    cue=c.cue,
                    single=cfg.single_valued,
                    multi=cfg.multi_valued,
                )
                out[i] = replace(c, single_valued=single)
        return out

    def _evidence(self, ns_id: int, relations: set[str]) -> dict[str, RelationEvidence]:
        """What the namespace's facts of each relation say about its cardinality."""
        out: dict[str, RelationEvidence] = {}
        with self._begin() as session:
            for relation in sorted(relations):
                stmt = (
                    sa.select(t.Fact.text, t.Fact.subject, t.Fact.object, t.Fact.status)
                    .where(t.Fact.namespace_id == ns_id, t.Fact.relation == relation)
                    .order_by(t.Fact.id.desc())
                    .limit(_EVIDENCE_SCAN)
                )
                change = addition = 0
                values: dict[str, set[str]] = {}
                for text, subject, value, status in session.execute(stmt):
                    cue = cue_of(text)
                    change += cue == "change"
                    addition += cue == "addition"
                    if status == FactStatus.ACTIVE.value and subject and value:
                        values.setdefault(subject.casefold(), set()).add(value.casefold())
                concurrent = sum(1 for held in values.values() if len(held) > 1)
                out[relation] = RelationEvidence(change, addition, concurrent, len(values))
        return out

    def _with_relation_rivals(
        self,
        session: Session,
        ns_id: int,
        owner: Scope,
        candidate: FactCandidate,
        neighbours: list[KnownFact],
    ) -> list[KnownFact]:
        """Add the active facts of the candidate's subject whose relation is the candidate's
        (same name, or alike with the values masked), and say how alike each relation is.

        Conflicts are found by structure, not by wording: "Dana lives in Lisbon" and "Porto is
        home now" share little text, but one subject and one relation.
        """
        if not candidate.subject or not candidate.relation or not candidate.object:
            return neighbours
        session.flush()
        stmt = (
            sa.select(t.Fact)
            .where(
                scope_clause(t.Fact, ns_id, owner),
                t.Fact.status == FactStatus.ACTIVE.value,
                sa.func.lower(t.Fact.subject) == candidate.subject.lower(),
                t.Fact.relation.is_not(None),
            )
            .order_by(t.Fact.valid_from.desc())
            .limit(_SLOT_SCAN)
        )
        rows = {f.id: f for f in session.scalars(stmt)}
        known = {k.id: k for k in neighbours}
        same_subject = [
            f
            for f in rows.values()
            if f.object and f.predicate and (f.id not in known or known[f.id].relation)
        ]
        if not same_subject:
            return neighbours
        other = [f for f in same_subject if f.relation != candidate.relation]
        sims = dict.fromkeys((f.id for f in same_subject), 1.0)
        if other:
            mine = reading_of(
                candidate.subject, str(candidate.predicate), candidate.object, candidate.value_type
            )
            theirs = [
                reading_of(str(f.subject), str(f.predicate), str(f.object), f.value_type)
                for f in other
            ]
            sims.update(
                zip((f.id for f in other), self._relations.similarity(mine, theirs), strict=True)
            )
        rivals = [f for f in same_subject if sims[f.id] >= _RIVAL_FLOOR]
        fresh = [f for f in rivals if f.id not in known]
        text_sims: dict[int, float] = {}
        if fresh:
            vectors = self._embedder.embed([candidate.text, *[f.text for f in fresh]])
            text_sims = {
                f.id: float(np.dot(vectors[0], vectors[j + 1])) for j, f in enumerate(fresh)
            }
        out = [
            replace(k, relation_similarity=sims[k.id]) if k.id in sims else k for k in neighbours
        ]
        out += [
            KnownFact(
                id=f.id,
                text=f.text,
                valid_from=f.valid_from,
                similarity=text_sims[f.id],
                subject=f.subject,
                predicate=f.predicate,
                object=f.object,
                relation=f.relation,
                value_type=_value_type(f.value_type),
                relation_similarity=sims[f.id],
            )
            for f in fresh
        ]
        return out

    def _history_rivals(
        self, session: Session, ns_id: int, owner: Scope, candidate: FactCandidate
    ) -> list[HistoricFact]:
        """Superseded facts of the candidate's subject and relation (for out-of-order history)."""
        if not candidate.subject or not candidate.relation or candidate.single_valued is not True:
            return []
        stmt = (
            sa.select(t.Fact.id, t.Fact.object, t.Fact.valid_from, t.Fact.valid_to)
            .where(
                scope_clause(t.Fact, ns_id, owner),
                t.Fact.status == FactStatus.SUPERSEDED.value,
                sa.func.lower(t.Fact.subject) == candidate.subject.lower(),
                t.Fact.relation == candidate.relation,
            )
            .order_by(t.Fact.valid_from.desc())
            .limit(_HISTORY_SCAN)
        )
        return [HistoricFact(*row) for row in session.execute(stmt)]

    def _with_slot_rivals(
        self,
        session: Session,
        ns_id: int,
        owner: Scope,
        candidate: FactCandidate,
        neighbours: list[KnownFact],
    ) -> list[KnownFact]:
        """Add the active facts that fill the same single-valued slot of the same subject.

        "Alice lives in Berlin" and "Alice moved to Paris" may not be close in embedding space,
        yet one must invalidate the other; the update policy only sees what it is shown.
        """
        slot = slot_of(candidate.predicate)
        if slot is None or not candidate.subject or candidate.relation is not None:
            return neighbours
        session.flush()
        stmt = (
            sa.select(t.Fact)
            .where(
                scope_clause(t.Fact, ns_id, owner),
                t.Fact.status == FactStatus.ACTIVE.value,
                sa.func.lower(t.Fact.subject) == candidate.subject.lower(),
                t.Fact.predicate.is_not(None),
            )
            .order_by(t.Fact.valid_from.desc())
            .limit(_SLOT_SCAN)
        )
        seen = {k.id for k in neighbours}
        rivals = [
            f for f in session.scalars(stmt) if f.id not in seen and slot_of(f.predicate) == slot
        ]
        if not rivals:
            return neighbours
        vectors = self._embedder.embed([candidate.text, *[f.text for f in rivals]])
        extra = [
            KnownFact(
                id=f.id,
                text=f.text,
                valid_from=f.valid_from,
                similarity=float(np.dot(vectors[0], vectors[j + 1])),
                subject=f.subject,
                predicate=f.predicate,
                object=f.object,
            )
            for j, f in enumerate(rivals)
        ]
        return neighbours + extra

    def _context_turns(self, ns_id: int, first: t.Event) -> list[Turn]:
        with self._begin() as session:
            stmt = (
                sa.select(t.Event)
                .where(
                    t.Event.namespace_id == ns_id,
                    t.Event.user_id == first.user_id
                    if first.user_id
                    else t.Event.user_id.is_(None),
                    t.Event.session_id == first.session_id
                    if first.session_id
                    else t.Event.session_id.is_(None),
                    t.Event.episode_id.is_not(None),
                    t.Event.occurred_at <= first.occurred_at,
                )
                .order_by(t.Event.occurred_at.desc(), t.Event.id.desc())
                .limit(_CONTEXT_TURNS)
            )
            rows = list(session.scalars(stmt))
        return [
            Turn(e.id, e.speaker or e.role, e.role, e.content, e.occurred_at, e.session_id)
            for e in reversed(rows)
        ]

    def _neighbours(
        self,
        session: Session,
        ns_id: int,
        owner: Scope,
        vector: np.ndarray,
        fresh: Sequence[_NewFact],
    ) -> list[KnownFact]:
        """The most similar active facts: committed ones from the index, plus this episode's own."""
        cfg = self._cfg
        where = IndexFilter(scope=owner, kinds=frozenset({MemoryKind.FACT}), current_only=True)
        with self._indexes.holding(ns_id) as idx:
            found = idx.dense.search(vector, cfg.neighbours, where=where)
        scored = {decode_key(k).id: s for k, s in found if s >= cfg.related_threshold}
        for new in fresh:
            sim = float(np.dot(new.vector, vector))
            if sim >= cfg.related_threshold:
                scored[new.id] = max(sim, scored.get(new.id, -1.0))
        if not scored:
            return []
        session.flush()
        rows = get_rows(session, ns_id, MemoryKind.FACT, scored)
        known = [
            KnownFact(
                id=fid,
                text=row.text,
                valid_from=row.valid_from,
                similarity=scored[fid],
                subject=row.subject,
                predicate=row.predicate,
                object=row.object,
                relation=row.relation,
                value_type=_value_type(row.value_type),
            )
            for fid, row in rows.items()
            if isinstance(row, t.Fact) and row.status == FactStatus.ACTIVE.value
        ]
        known.sort(key=lambda k: -k.similarity)
        return known[: cfg.neighbours]
