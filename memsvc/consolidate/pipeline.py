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
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.config import Settings
from memsvc.consolidate.facts import apply_plan
from memsvc.consolidate.recompute import Recomputer, RemovalReport
from memsvc.consolidate.summaries import refresh_summaries
from memsvc.consolidate.tree import TreeBuilder
from memsvc.embed.cache import CachedEmbedder
from memsvc.graph.entities import link_memories
from memsvc.index.base import IndexFilter
from memsvc.index.documents import index_text
from memsvc.index.ids import decode_key
from memsvc.index.persist import persist_vectors
from memsvc.index.sync import IndexSync
from memsvc.llm.base import LLMTasks, SurpriseModel
from memsvc.llm.relations import RelationNormaliser, reading_of
from memsvc.llm.slots import slot_of
from memsvc.llm.triples import cue_of
from memsvc.policies.cardinality import RelationEvidence, is_single_valued
from memsvc.policies.segment import Segment, Segmenter, SegmentItem
from memsvc.policies.update import FactPlan, FactRewrite, HistoricFact, LLMUpdatePolicy
from memsvc.store import change_log, lineage
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
_REPLANS = 3
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
        read: Callable[[], AbstractContextManager[Session]] | None = None,
    ) -> None:
        self._cfg = settings.consolidation
        self._begin = begin
        self._read = read or begin
        self._embedder = embedder
        self._indexes = indexes
        self._llm = llm
        self._policy = LLMUpdatePolicy(llm, self._cfg.decay)
        self._relations = RelationNormaliser(embedder, threshold=self._cfg.facts.relation_threshold)
        self._tree = TreeBuilder(
            cfg=self._cfg.memtree,
            begin=begin,
            read=read,
            embedder=embedder,
            llm=llm,
            indexes=indexes,
        )
        self._recomputer = Recomputer(begin=begin, llm=llm)

    def rebuild_tree(self, namespace_id: int, scope: Scope) -> int:
        """Rebuild the MemTree of the scope's owner from its facts and episodes."""
        inserted = self._tree.rebuild(namespace_id, owner_of(scope))
        self._indexes.catch_up_after_commit(namespace_id)
        return inserted

    def run(self, job: JobRow) -> None:
        """Recompute the owner's stale memories, then consolidate the job's scope."""
        self.recompute(job.namespace_id, owner_of(job.scope))
        self._run_scope(job.namespace_id, job.scope)

    def recompute(self, namespace_id: int, owner: Scope, *, purge: bool = False) -> RemovalReport:
        """Rebuild the owner's stale derived memories now (memsvc.consolidate.recompute)."""
        report = self._recomputer.recompute(
            namespace_id, owner, lambda scope: self._run_scope(namespace_id, scope), purge=purge
        )
        self._indexes.catch_up_after_commit(namespace_id)
        return report

    def _run_scope(self, ns_id: int, scope: Scope) -> None:
        owner = owner_of(scope)
        events = self._pending_events(ns_id, scope)
        if events:
            for segment in self._segments(events):
                chosen = [events[k] for k in segment.keys]
                self._episode(ns_id, owner, chosen, segment)
                self._indexes.catch_up_after_commit(ns_id)
        self._tree.insert_pending(ns_id, owner)
        refresh_summaries(
            begin=self._begin,
            llm=self._llm,
            namespace_id=ns_id,
            owner=owner,
            now=utcnow(),
            embedder=self._embedder,
        )
        self._indexes.catch_up_after_commit(ns_id)

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
        """Plan the episode outside any write transaction, then apply it in a short one.

        A plan that finds, when applied, that a fact it read changed meanwhile is made again
        (the re-check is the price of never holding the writer lock while a model thinks).
        """
        for attempt in range(_REPLANS):
            plan = self._plan_episode(ns_id, owner, events, segment)
            try:
                self._apply_episode(ns_id, owner, plan)
                return
            except _StalePlan:
                if attempt == _REPLANS - 1:
                    raise
                logger.info("episode plan went stale (a fact changed meanwhile); planning again")

    def _plan_episode(
        self, ns_id: int, owner: Scope, events: Sequence[t.Event], segment: Segment
    ) -> _EpisodePlan:
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
        # One model batch for everything the episode writes; stored with it when applied.
        batch = [c.text for c in candidates] + ([summary] if summary.strip() else [])
        vectors = self._embedder.embed(batch)[: len(candidates)]
        plan = _EpisodePlan(events=list(events), segment=segment, summary=summary)
        for i, candidate in enumerate(candidates):
            with self._read() as session:
                neighbours = self._neighbours(session, ns_id, owner, vectors[i], plan)
                neighbours = self._with_slot_rivals(
                    session, ns_id, owner, candidate, neighbours, plan
                )
                # as this episode's earlier decisions leave them (a fact one closed is gone)
                neighbours = plan.overlaid(
                    self._with_relation_rivals(session, ns_id, owner, candidate, neighbours, plan)
                )
                history = self._history_rivals(session, ns_id, owner, candidate)
            # the model: outside any write
            fact_plan = self._policy.plan(candidate, neighbours, history)
            plan.add(fact_plan, vectors[i])
        return plan

    def _apply_episode(self, ns_id: int, owner: Scope, plan: _EpisodePlan) -> None:
        events = plan.events
        first = events[0]
        now = utcnow()
        self._indexes.get(ns_id)  # loaded (and caught up) before the write transaction opens
        with self._begin() as session:
            _recheck(session, ns_id, plan.read)
            episode = t.Episode(
                namespace_id=ns_id,
                user_id=first.user_id,
                agent_id=first.agent_id,
                session_id=first.session_id,
                started_at=events[0].occurred_at,
                ended_at=events[-1].occurred_at,
                event_count=len(events),
                summary=plan.summary,
                boundary_reason=plan.segment.end_reason.value,
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
            lineage.link(session, ns_id, ("episode", episode.id), [("event", e.id) for e in events])
            change_log.append(
                session,
                namespace_id=ns_id,
                kind=MemoryKind.EPISODE,
                memory_ids=[episode.id],
                op="upsert",
                now=now,
            )
            real: dict[int, int] = {}
            written: list[int] = []
            for fact_plan, provisional in plan.facts:
                inserted = apply_plan(
                    session,
                    _resolve(fact_plan, real),
                    namespace_id=ns_id,
                    owner=owner,
                    episode_id=episode.id,
                    now=now,
                )
                written.extend(inserted)
                if provisional is not None and inserted:
                    real[provisional] = inserted[0]
            persist_vectors(session, self._embedder, plan.texts())
            lineage.record_fact_sources(session, ns_id, owner, changed_at=now)
            if self._cfg.graph:
                link_memories(
                    session, ns_id, owner, events=events, fact_ids=written, now=now,
                    things=self._cfg.graph_things,
                )  # fmt: skip
        logger.debug(
            "episode of %d events consolidated: %d candidate facts", len(events), len(plan.facts)
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
        plan: _EpisodePlan,
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
        for f in fresh:  # re-checked when the plan is applied, like every fact it read
            plan.read.setdefault(int(f.id), f.updated_at)
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
        plan: _EpisodePlan,
    ) -> list[KnownFact]:
        """Add the active facts that fill the same single-valued slot of the same subject.

        "Alice lives in Berlin" and "Alice moved to Paris" may not be close in embedding space,
        yet one must invalidate the other; the update policy only sees what it is shown.
        """
        slot = slot_of(candidate.predicate)
        if slot is None or not candidate.subject or candidate.relation is not None:
            return neighbours
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
            plan.known(f, similarity=0.0)
            for f in session.scalars(stmt)
            if f.id not in seen and slot_of(f.predicate) == slot
        ]
        rivals += [
            k
            for k in plan.fresh_known()
            if k.id not in seen
            and (k.subject or "").lower() == candidate.subject.lower()
            and slot_of(k.predicate) == slot
        ]
        rivals = [k for k in plan.overlaid(rivals) if k.id not in seen]
        if not rivals:
            return neighbours
        vectors = self._embedder.embed([candidate.text, *[f.text for f in rivals]])
        extra = [
            replace(f, similarity=float(np.dot(vectors[0], vectors[j + 1])))
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
        plan: _EpisodePlan,
    ) -> list[KnownFact]:
        """The most similar active facts: committed ones from the index, plus this episode's own."""
        cfg = self._cfg
        where = IndexFilter(scope=owner, kinds=frozenset({MemoryKind.FACT}), current_only=True)
        with self._indexes.holding(ns_id) as idx:
            found = idx.dense.search(vector, cfg.neighbours, where=where)
        scored = {decode_key(k).id: s for k, s in found if s >= cfg.related_threshold}
        known: list[KnownFact] = []
        if scored:
            rows = get_rows(session, ns_id, MemoryKind.FACT, scored)
            known = [
                plan.known(row, similarity=scored[fid])
                for fid, row in rows.items()
                if isinstance(row, t.Fact) and row.status == FactStatus.ACTIVE.value
            ]
        for fresh in plan.fresh:
            sim = float(np.dot(fresh.vector, vector))
            if sim >= cfg.related_threshold:
                known.append(replace(fresh.known, similarity=sim))
        known = plan.overlaid(known)
        known.sort(key=lambda k: -k.similarity)
        return known[: cfg.neighbours]


class _StalePlan(RuntimeError):
    """A fact the plan read changed before the plan was applied."""


@dataclass
class _Fresh:
    """A fact this episode's plan inserts (active), known by a provisional negative id."""

    known: KnownFact
    vector: np.ndarray


@dataclass
class _EpisodePlan:
    """Everything one episode writes, decided outside any write transaction.

    ``facts`` pairs each fact plan with the provisional id of the fact it inserts (negative,
    mapped to the real id as the plan is applied); ``read`` records the ``updated_at`` of each
    stored fact the decisions saw, re-checked when applying; ``gone`` and ``rewritten`` are
    what earlier decisions of this episode did to facts, so later ones see the facts as they
    will be.
    """

    events: list[t.Event]
    segment: Segment
    summary: str
    facts: list[tuple[FactPlan, int | None]] = field(default_factory=list)
    fresh: list[_Fresh] = field(default_factory=list)
    read: dict[int, datetime] = field(default_factory=dict)
    gone: set[int] = field(default_factory=set)
    rewritten: dict[int, FactRewrite] = field(default_factory=dict)

    def known(self, row: t.Fact, *, similarity: float) -> KnownFact:
        """A stored fact as the policy sees it; remembered for the re-check."""
        self.read.setdefault(int(row.id), row.updated_at)
        return KnownFact(
            id=int(row.id),
            text=row.text,
            valid_from=row.valid_from,
            similarity=similarity,
            subject=row.subject,
            predicate=row.predicate,
            object=row.object,
            relation=row.relation,
            value_type=_value_type(row.value_type),
        )

    def fresh_known(self) -> list[KnownFact]:
        """The active facts this plan inserts so far."""
        return [f.known for f in self.fresh]

    def overlaid(self, facts: list[KnownFact]) -> list[KnownFact]:
        """``facts`` as the earlier decisions of this plan leave them."""
        out: list[KnownFact] = []
        for k in facts:
            if k.id in self.gone:
                continue
            rewrite = self.rewritten.get(k.id)
            if rewrite is not None:
                k = replace(
                    k,
                    text=rewrite.text,
                    subject=rewrite.subject or k.subject,
                    predicate=rewrite.predicate or k.predicate,
                    object=rewrite.object or k.object,
                )
            out.append(k)
        return out

    def add(self, fact_plan: FactPlan, vector: np.ndarray) -> None:
        """Record one decision and what it does to the facts later decisions see."""
        provisional = None
        if fact_plan.insert is not None:
            provisional = -(len(self.facts) + 1)
            spec = fact_plan.insert
            if spec.status is FactStatus.ACTIVE:
                known = KnownFact(
                    id=provisional,
                    text=spec.text,
                    valid_from=spec.valid_from,
                    similarity=0.0,
                    subject=spec.subject,
                    predicate=spec.predicate,
                    object=spec.object,
                    relation=spec.relation,
                    value_type=_value_type(spec.value_type),
                )
                self.fresh.append(_Fresh(known, vector))
        if fact_plan.supersede is not None:
            self.gone.add(fact_plan.supersede.target_id)
            self.fresh = [f for f in self.fresh if f.known.id not in self.gone]
        if fact_plan.rewrite is not None:
            self.rewritten[fact_plan.rewrite.target_id] = fact_plan.rewrite
            for i, f in enumerate(self.fresh):
                if f.known.id == fact_plan.rewrite.target_id:
                    self.fresh[i] = _Fresh(self.overlaid([f.known])[0], f.vector)
        self.facts.append((fact_plan, provisional))

    def texts(self) -> list[str]:
        """Every text the plan writes to an indexed row (its vectors are stored with it)."""
        out = [self.summary]
        for fact_plan, _ in self.facts:
            if fact_plan.insert is not None:
                out.append(fact_plan.insert.text)
            if fact_plan.rewrite is not None:
                out.append(fact_plan.rewrite.text)
        return out


def _resolve(plan: FactPlan, real: dict[int, int]) -> FactPlan:
    """``plan`` with the provisional ids of this episode's facts replaced by their real ids."""

    def fix(fact_id: int) -> int:
        if fact_id >= 0:
            return fact_id
        if fact_id not in real:
            raise _StalePlan(f"plan refers to provisional fact {fact_id} that was not inserted")
        return real[fact_id]

    changes: dict[str, object] = {}
    if plan.insert is not None and plan.insert.superseded_by is not None:
        changes["insert"] = replace(plan.insert, superseded_by=fix(plan.insert.superseded_by))
    if plan.supersede is not None:
        changes["supersede"] = replace(plan.supersede, target_id=fix(plan.supersede.target_id))
    if plan.reinforce is not None:
        changes["reinforce"] = replace(plan.reinforce, target_id=fix(plan.reinforce.target_id))
    if plan.rewrite is not None:
        changes["rewrite"] = replace(plan.rewrite, target_id=fix(plan.rewrite.target_id))
    return replace(plan, **changes) if changes else plan  # type: ignore[arg-type]


def _recheck(session: Session, ns_id: int, read: dict[int, datetime]) -> None:
    """Raise :class:`_StalePlan` when a fact the plan read changed or went since."""
    if not read:
        return
    rows = session.execute(
        sa.select(t.Fact.id, t.Fact.status, t.Fact.updated_at).where(
            t.Fact.namespace_id == ns_id, t.Fact.id.in_(list(read))
        )
    ).all()
    now = {int(i): (status, updated) for i, status, updated in rows}
    for fact_id, seen in read.items():
        found = now.get(fact_id)
        if found is None or found[0] != FactStatus.ACTIVE.value or found[1] != seen:
            raise _StalePlan(f"fact {fact_id} changed after the plan read it")
