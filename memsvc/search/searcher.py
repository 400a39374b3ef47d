"""The read path: from a query to scored hits with provenance (DESIGN.md, "Read path").

::

    query ─► plan: time expression (relative to the scope's latest event) ─► filter and/or boost;
                   speakers named ─► neutral dense query + speaker boost
          ─► rounds: dense + BM25 candidates ─► weighted RRF ─► refine (LLM, or PRF + Rocchio)
          ─► merged ─► temporal contiguity (neighbours of the strongest events and facts' turns)
          ─► Scorer: relevance × retention × recency × time, invalid at as_of dropped
          ─► kind and redundancy priors ─► optional rerank ─► top_k with provenance
          ─► context string ─► reinforcement of returned facts (background)

The pure pieces live in :mod:`memsvc.retrieval`; this module composes them over the service's
indexes and database. One search is one read transaction.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.config import RetrievalSettings, Settings
from memsvc.embed.cache import CachedEmbedder
from memsvc.errors import ConfigError
from memsvc.graph.entities import owner_scope
from memsvc.graph.ppr import GraphCache, GraphRound, LoadedGraph, expand
from memsvc.index.documents import record_index_text
from memsvc.index.ids import decode_key, encode_key
from memsvc.index.sync import IndexSync
from memsvc.llm.base import LLMTasks
from memsvc.llm.relations import PRIOR_RELATIONS, QuestionRelations
from memsvc.policies.decay import retention
from memsvc.retrieval.context import ContextItem, build_context
from memsvc.retrieval.contiguity import ContiguityItem, add_neighbours
from memsvc.retrieval.feedback import PseudoRelevanceFeedback, prf_vector
from memsvc.retrieval.fusion import RankedList, max_fused_score, rrf
from memsvc.retrieval.iterative import IterativeResult, Refine, iterative_search
from memsvc.retrieval.rerank import Reranker, rerank
from memsvc.retrieval.scoring import Scorer, ScoreSignals
from memsvc.retrieval.speakers import speaker_match
from memsvc.search.candidates import (
    RecordCache,
    episode_events,
    ranked_candidates,
    source_refs,
)
from memsvc.search.plan import ScopeStates, SearchPlan, SearchRequest, plan_search
from memsvc.store import tables as t
from memsvc.store.memories import event_neighbours, scope_clause
from memsvc.types import (
    FactStatus,
    Hit,
    MemoryKind,
    MemoryRecord,
    MemoryRef,
    SearchResult,
    utcnow,
)

__all__ = ["SearchRequest", "Searcher", "make_reranker"]

logger = logging.getLogger(__name__)
# relations that hold many values at once by their priors ("Which pets does Dana have?")
_MANY_VALUED = frozenset(p.name for p in PRIOR_RELATIONS if p.single_valued is False)

Vector = npt.NDArray[np.float32]

#: A capitalised word of a query: maybe a person ("Where does Dana live?").
_NAME = re.compile(r"\b[A-Z][a-z][\w\-]*")
_NOT_PEOPLE = frozenset(
    """What Where When Who Whom Whose Which Why How Does Did Do Is Are Was Were Has Have Had Can
    Could Would Should Will The A An In On At Of For To And Or But If Tell Give List Name
    January February March April May June July August September October November December
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday""".split()  # noqa: SIM905 (a word list reads better as text)
)
#: At most this many facts of the people a question names are read to find the one it asks for.
_SLOT_FACTS = 500

#: Kinds that stand for one thing said or known; the others aggregate many memories.
_SPECIFIC = frozenset({MemoryKind.EVENT, MemoryKind.FACT})


def make_reranker(cfg: RetrievalSettings) -> Reranker | None:
    """The reranker ``cfg.rerank`` names, or ``None`` for ``"none"``.

    Raises:
        ConfigError: ``"cross_encoder"`` without a model path, or ``"llm"``, which no LLM
            backend implements yet.
    """
    if cfg.rerank == "none":
        return None
    if cfg.rerank == "llm":
        raise ConfigError(
            "retrieval.rerank='llm' is not implemented; use 'cross_encoder' with "
            "retrieval.cross_encoder_model, or 'none'"
        )
    if cfg.cross_encoder_model is None:
        raise ConfigError(
            "retrieval.rerank='cross_encoder' needs retrieval.cross_encoder_model "
            "(a local model directory)"
        )
    from memsvc.embed.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(cfg.cross_encoder_model)


@dataclass
class _Run:
    """The state of one search."""

    request: SearchRequest
    namespace_id: int
    records: RecordCache
    plan: SearchPlan
    parts: dict[int, Mapping[str, float]] = field(default_factory=dict)
    vector: Vector | None = None
    seq: int = 0
    graph_rounds: int = 0
    slot: frozenset[int] = frozenset()
    asked: str | None = None


@dataclass(frozen=True)
class _Ranked:
    key: int
    record: MemoryRecord
    score: float
    parts: dict[str, float]


class Searcher:
    """Runs searches against one service's indexes and database.

    Raises:
        ConfigError: the configured reranker cannot be used (at construction, i.e. startup).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        begin: Callable[[], AbstractContextManager[Session]],
        embedder: CachedEmbedder,
        indexes: IndexSync,
        llm: LLMTasks,
        on_recall: Callable[[Iterable[int]], None],
    ) -> None:
        self._cfg = settings.retrieval
        self._begin = begin
        self._embedder = embedder
        self._indexes = indexes
        self._llm = llm
        self._on_recall = on_recall
        self._scorer = Scorer(settings.retrieval, settings.consolidation.decay, retention=retention)
        self._reranker = make_reranker(settings.retrieval)
        self._is_offline = settings.llm.backend == "offline"
        self._prf = PseudoRelevanceFeedback(terms=self._cfg.prf_terms, docs=self._cfg.prf_docs)
        self._scopes = ScopeStates()
        self._graphs = GraphCache(turn_weight=self._cfg.graph_turn_weight)
        self._questions = QuestionRelations(embedder)

    def search(self, request: SearchRequest, *, namespace_id: int) -> SearchResult:
        """Run ``request`` in a namespace."""
        started = time.perf_counter()
        seq = self._indexes.get(namespace_id).applied_seq
        with self._begin() as session:
            state = self._scopes.get(session, namespace_id, request.scope, seq=seq)
            run = _Run(
                request=request,
                namespace_id=namespace_id,
                records=RecordCache(session, namespace_id),
                plan=plan_search(request, state, self._cfg),
                seq=seq,
            )
            merged = self._retrieve(run)
            ranked = self._score(run, self._with_slot(run, self._with_neighbours(run, merged)))
            if self._reranker is not None:
                ranked = self._rerank(run, ranked)
            hits = self._hits(session, run, ranked[: request.top_k])
        context = None
        if request.context_tokens is not None:
            items = [ContextItem.from_hit(h) for h in hits]
            context = build_context(items, max_tokens=request.context_tokens).text
        self._on_recall(h.record.ref.id for h in hits if h.kind is MemoryKind.FACT)
        took = (time.perf_counter() - started) * 1000
        logger.debug("search: %d hits, %d rounds, %.1f ms", len(hits), len(merged.rounds), took)
        return SearchResult(
            hits=hits,
            context=context,
            rounds=len(merged.rounds),
            took_ms=took,
            details=_details(run, merged),
        )

    # -- candidates and rounds --------------------------------------------------------------

    def _retrieve(self, run: _Run) -> IterativeResult:
        """Iterative retrieval over ``request.rounds`` rounds, merged (ALGORITHMS.md §4.2)."""
        run.vector = self._embedder.embed_query(run.plan.dense_text)

        def search_round(text: str, vector: Vector | None) -> list[tuple[int, float, str]]:
            return self._round(run, text, vector)

        refine: Refine = self._prf if self._is_offline else self._llm.refine_query
        rounds = run.request.rounds
        graph = self._graph_of(run) if rounds > 1 and self._cfg.round_source == "graph" else None
        if graph is not None:  # no graph yet (nothing consolidated): refinement rounds instead
            rounds, run.graph_rounds = 1, rounds - 1
        merged = iterative_search(
            run.plan.text,
            search_round=search_round,
            refine=refine,
            rounds=rounds,
            query_vector=run.vector,
            revector=lambda _, keys: self._rocchio(run, keys),
            feedback=self._cfg.candidates,
            later_round_weight=self._cfg.later_round_weight,
        )
        return merged if graph is None else self._graph_rounds(run, graph, merged)

    def _graph_of(self, run: _Run) -> LoadedGraph | None:
        """The entity graph of the request's owner scope, or ``None`` while it is empty."""
        owner = owner_scope(run.request.scope)
        graph = self._graphs.get(run.records.session, run.namespace_id, owner, seq=run.seq)
        return graph if graph.memory_count else None

    def _graph_rounds(
        self, run: _Run, graph: LoadedGraph, merged: IterativeResult
    ) -> IterativeResult:
        """Rounds that walk the entity graph from what was found (memsvc.graph.ppr)."""
        cfg = self._cfg

        def admit(keys: Sequence[int]) -> set[int]:
            run.records.load(keys)
            current = run.plan.where.current_only
            return {
                key
                for key in keys
                if (record := run.records.record(key)) is not None
                and run.plan.admits(record, run.request.scope)
                and not (current and record.kind is MemoryKind.FACT and record.status != "active")
            }

        return expand(
            graph,
            run.plan.text,
            merged,
            rounds=run.graph_rounds,
            cfg=GraphRound(
                seeds=cfg.graph_seeds,
                hit_weight=cfg.graph_hit_weight,
                query_weight=cfg.graph_query_weight,
                damping=cfg.graph_damping,
                candidates=cfg.graph_candidates,
                weight=cfg.graph_weight,
                rrf_k=cfg.rrf_k,
                fusion=cfg.graph_fusion,
                scale=max_fused_score([cfg.dense_weight, cfg.sparse_weight], k=cfg.rrf_k),
            ),
            admit=admit,
            parts=run.parts,
        )

    def _rocchio(self, run: _Run, keys: Sequence[int]) -> Vector | None:
        """The next round's vector offline: the query moved toward the top events found.

        With an LLM the refined text is embedded instead (``None``). Only events feed the
        centroid: their vectors are cached from the add path, so this costs no model call.
        """
        if not self._is_offline or run.vector is None:
            return None
        events = [k for k in keys if decode_key(k).kind is MemoryKind.EVENT]
        texts = [_text_of(run.records, k) for k in events[: self._cfg.prf_docs]]
        top = self._embedder.embed([x for x in texts if x])
        return prf_vector(run.vector, top, alpha=self._cfg.prf_alpha, beta=self._cfg.prf_beta)

    def _round(self, run: _Run, text: str, vector: Vector | None) -> list[tuple[int, float, str]]:
        """One round: dense + BM25 candidates fused by weighted RRF, as (key, score, text)."""
        if vector is None:
            vector = self._embedder.embed_query(text)
        found = ranked_candidates(
            self._indexes,
            run.namespace_id,
            text=text,
            vector=vector,
            where=run.plan.where,
            want=max(self._cfg.candidates, run.request.top_k),
            records=run.records,
            accept=run.plan.accept,
        )
        fused = rrf(
            [
                RankedList("dense", found.dense, self._cfg.dense_weight),
                RankedList("sparse", found.sparse, self._cfg.sparse_weight),
            ],
            k=self._cfg.rrf_k,
        )
        for item in fused:
            run.parts.setdefault(item.key, item.parts)
        return [(item.key, item.score, _text_of(run.records, item.key)) for item in fused]

    # -- the facts a question asks for by structure -----------------------------------------

    def _with_slot(
        self, run: _Run, pool: dict[int, dict[str, float]]
    ) -> dict[int, dict[str, float]]:
        """Add the facts a question asks for by person and relation ("Where does Dana live?":
        Dana's ``lives_in`` facts), looked up in SQL: the current value (or the value at
        ``as_of``) is a candidate however the fact was worded."""
        kinds = run.request.kinds
        if self._cfg.slot_weight == 0 or (kinds is not None and MemoryKind.FACT not in kinds):
            return pool
        people = {w for w in _NAME.findall(run.request.query) if w not in _NOT_PEOPLE}
        if not people:
            return pool
        owner = owner_scope(run.request.scope)
        stmt = (
            sa.select(t.Fact.id, t.Fact.relation, t.Fact.subject)
            .where(
                scope_clause(t.Fact, run.namespace_id, owner),
                sa.func.lower(t.Fact.subject).in_(sorted(p.lower() for p in people)),
                t.Fact.relation.is_not(None),
                t.Fact.status.in_(
                    [FactStatus.ACTIVE.value]
                    if run.request.as_of is None
                    else [FactStatus.ACTIVE.value, FactStatus.SUPERSEDED.value]
                ),
            )
            .limit(_SLOT_FACTS)
        )
        rows = run.records.session.execute(stmt).all()
        if not rows:
            return pool
        subjects = sorted({str(r.subject) for r in rows})
        relation = self._questions.relation(run.request.query, subjects)
        run.asked = relation
        keys = [
            encode_key(MemoryRef(MemoryKind.FACT, int(r.id)))
            for r in rows
            if r.relation == relation
        ]
        if not keys:
            return pool
        run.records.load(keys)
        top = max((parts["relevance"] for parts in pool.values()), default=1.0)
        found = set()
        for key in keys:
            record = run.records.record(key)
            if record is None or not run.plan.admits(record, run.request.scope):
                continue
            found.add(key)
            parts = pool.setdefault(key, {"relevance": top})
            parts["relevance"] = max(parts["relevance"], top)
            parts["slot"] = 1.0
        run.slot = frozenset(found)
        return pool

    # -- contiguity -------------------------------------------------------------------------

    def _with_neighbours(self, run: _Run, merged: IterativeResult) -> dict[int, dict[str, float]]:
        """Relevance in [0, 1] of every candidate, with the neighbours of the strongest events.

        A neighbour scores ``relevance(anchor) * decay**distance`` (EM-LLM's contiguity buffer,
        ALGORITHMS.md §2.4); a candidate keeps the better of its own relevance and that.
        """
        weights = [self._cfg.dense_weight, self._cfg.sparse_weight]
        if self._cfg.graph_fusion == "rrf":  # one more ranked list; else already in scale
            weights += [self._cfg.graph_weight] * run.graph_rounds
        top = max_fused_score(weights, k=self._cfg.rrf_k)
        pool: dict[int, dict[str, float]] = {}
        for item in merged.items:
            parts = dict(run.parts.get(item.key, {}))
            parts["round"] = float(item.round)
            parts["relevance"] = min(item.score / top, 1.0)
            pool[item.key] = parts
        kinds = run.request.kinds
        if self._cfg.contiguity == 0 or (kinds is not None and MemoryKind.EVENT not in kinds):
            return pool
        anchors = self._anchors(run, pool)
        keys = [encode_key(MemoryRef(MemoryKind.EVENT, i)) for i, _ in anchors]
        records = [run.records.record(key) for key in keys]
        around = event_neighbours(
            run.records.session,
            run.namespace_id,
            [record for record in records if record is not None],
            before=self._cfg.contiguity,
            after=self._cfg.contiguity,
        )

        def fetch(event_id: int, _before: int, _after: int) -> list[int]:
            earlier, later = around.get(event_id, ([], []))
            return [*earlier, event_id, *later]

        added = add_neighbours(
            anchors,
            fetch,
            before=self._cfg.contiguity,
            after=self._cfg.contiguity,
            top=self._cfg.contiguity_top,
            decay=self._cfg.contiguity_decay,
        )
        _merge_neighbours(run, pool, [near for near in added if near.via is not None])
        return pool

    def _anchors(
        self, run: _Run, pool: Mapping[int, Mapping[str, float]]
    ) -> list[tuple[int, float]]:
        """The strongest events found, directly or as the source of a fact, best first."""
        anchors: dict[int, float] = {}
        for key, parts in sorted(pool.items(), key=lambda kv: -kv[1]["relevance"]):
            if len(anchors) >= self._cfg.contiguity_top:
                break
            ref = decode_key(key)
            record = run.records.record(key)
            if ref.kind not in _SPECIFIC or record is None:
                continue
            for event_id in record.source_event_ids:
                anchors.setdefault(event_id, parts["relevance"])
        strongest = list(anchors.items())[: self._cfg.contiguity_top]
        run.records.load(encode_key(MemoryRef(MemoryKind.EVENT, i)) for i, _ in strongest)
        return strongest

    # -- scoring and reranking --------------------------------------------------------------

    def _score(self, run: _Run, pool: Mapping[int, dict[str, float]]) -> list[_Ranked]:
        """Final scores, best first; candidates not valid at ``as_of`` are dropped."""
        now = utcnow()
        out: list[_Ranked] = []
        for key, parts in pool.items():
            record = run.records.record(key)
            if record is None:
                continue
            scored = self._scorer.score(
                parts["relevance"],
                _signals(record),
                now=now,
                reference_at=run.plan.reference_at,
                as_of=run.request.as_of,
                window=run.plan.window,
            )
            if scored is None:
                continue
            score, prior = scored.score, self._prior(run, record)
            all_parts = {**parts, **scored.parts, "prior": prior}
            out.append(_Ranked(key, record, score * prior, all_parts))
        out.sort(key=lambda r: -r.score)
        return self._demote_redundant(out)

    def _prior(self, run: _Run, record: MemoryRecord) -> float:
        """Multiplier for the people the query names, for aggregate kinds, for current facts
        about a person the query names, and for events that state an outdated value."""
        prior = 1.0 if record.kind in _SPECIFIC else self._cfg.aggregate_weight
        if speaker_match(run.plan.names, speaker=record.speaker, text=record.content):
            prior *= 1.0 + self._cfg.speaker_weight
        attrs = record.attributes
        if record.kind is MemoryKind.EVENT:
            if attrs.get("outdated_by") and run.request.as_of is None:
                prior *= self._cfg.outdated_weight
        elif record.kind is MemoryKind.FACT and attrs.get("relation"):
            subject = attrs.get("subject")
            relation = str(attrs.get("relation"))
            if subject and names_subject(run.request.query, str(subject)):
                known = relation in self._questions.relations
                if run.asked is None or relation == run.asked:
                    prior *= 1.0 + self._cfg.current_fact_weight
                elif known:  # "Who is Dana dating?": Dana's car is no answer, however current
                    prior *= self._cfg.other_relation_weight
                elif run.asked in _MANY_VALUED:
                    # the answer is a set, and a value named by a phrase of its own ("is into
                    # birdwatching" read as "into") may be one of its members
                    prior *= 1.0 + self._cfg.current_fact_weight
                # otherwise a relation of its own ("got engaged to", asked for Dana's partner)
                # is neither boosted nor damped: its text decides
            if self._key_of(record) in run.slot:
                prior *= 1.0 + self._cfg.slot_weight
        return prior

    @staticmethod
    def _key_of(record: MemoryRecord) -> int:
        return encode_key(record.ref)

    def _demote_redundant(self, ranked: list[_Ranked]) -> list[_Ranked]:
        """Lower hits whose source events all sit behind better hits already.

        A fact below the turn it came from, or a second fact from the same turn, tells the
        reader nothing new; it keeps its place only if nothing else is left.
        """
        weight = self._cfg.redundancy_weight
        if weight >= 1.0:
            return ranked
        covered: set[int] = set()
        out = []
        for r in ranked:
            sources = set(r.record.source_event_ids)
            if sources and sources <= covered:
                r = _Ranked(r.key, r.record, r.score * weight, {**r.parts, "redundant": weight})
            covered |= sources
            out.append(r)
        out.sort(key=lambda r: -r.score)
        return out

    def _rerank(self, run: _Run, ranked: list[_Ranked]) -> list[_Ranked]:
        """Reorder the best candidates by the reranker; the rest keep their order below."""
        assert self._reranker is not None
        head = ranked[: max(2 * run.request.top_k, 20)]
        order = rerank(self._reranker, run.request.query, [(r.key, r.record.content) for r in head])
        by_key = {r.key: r for r in head}
        reordered = [
            _Ranked(key, by_key[key].record, score, {**by_key[key].parts, "rerank": score})
            for key, score in order
        ]
        return reordered + ranked[len(head) :]

    def _hits(self, session: Session, run: _Run, ranked: Sequence[_Ranked]) -> list[Hit]:
        """Hits with their source events (episodes' too) and the client's own ids of those."""
        episodes = [r.record.ref.id for r in ranked if r.record.kind is MemoryKind.EPISODE]
        members = episode_events(session, run.namespace_id, episodes)
        ranked = [
            r
            if r.record.kind is not MemoryKind.EPISODE
            else replace(r, record=replace(r.record, source_event_ids=members[r.record.ref.id]))
            for r in ranked
        ]
        refs = source_refs(session, run.records, [r.record for r in ranked])
        return [
            Hit(
                record=r.record,
                score=r.score,
                score_parts=r.parts,
                source_refs=tuple(refs[i] for i in r.record.source_event_ids if i in refs),
            )
            for r in ranked
        ]


def names_subject(query: str, subject: str) -> bool:
    """Whether ``query`` names ``subject`` ("Where does Dana live?" names "Dana")."""
    return re.search(rf"\b{re.escape(subject)}\b", query, re.IGNORECASE) is not None


def _merge_neighbours(
    run: _Run, pool: dict[int, dict[str, float]], added: Sequence[ContiguityItem]
) -> None:
    """Put neighbours in the pool; a candidate keeps the better of its own and derived score."""
    keys = [encode_key(MemoryRef(MemoryKind.EVENT, near.event_id)) for near in added]
    run.records.load(keys)
    for key, near in zip(keys, added, strict=True):
        known = pool.get(key)
        if near.via is None or (known is not None and known["relevance"] >= near.score):
            continue
        record = run.records.record(key)
        if record is None or not run.plan.admits(record, run.request.scope):
            continue
        pool[key] = {
            **(known or {}),
            "relevance": near.score,
            "contiguity_via": float(near.via),
            "contiguity_distance": float(near.distance),
        }


def _text_of(records: RecordCache, key: int) -> str:
    record = records.record(key)
    return "" if record is None else record_index_text(record)


def _signals(record: MemoryRecord) -> ScoreSignals:
    attrs = record.attributes
    strength = attrs.get("strength") if record.kind is MemoryKind.FACT else None
    return ScoreSignals(
        occurred_at=record.occurred_at,
        strength=float(strength) if strength is not None else None,
        last_recalled_at=attrs.get("last_recalled_at"),
        created_at=record.created_at,
        valid_from=record.valid_from,
        valid_to=record.valid_to,
        role=record.role if record.kind is MemoryKind.EVENT else None,
    )


def _details(run: _Run, merged: IterativeResult) -> dict[str, Any]:
    """How the search read the query: its rounds, present and time window."""
    window = run.plan.window
    out: dict[str, Any] = {
        "rounds": [{"query": r.query, "returned": r.returned, "new": r.new} for r in merged.rounds],
        "reference_at": run.plan.reference_at,
        "speakers": list(run.plan.names),
    }
    if window is not None:
        out["time"] = {
            "expression": window.expression,
            "start": window.start,
            "end": window.end,
            "is_vague": window.is_vague,
            "is_filter": run.plan.is_filtered,
        }
    return out
