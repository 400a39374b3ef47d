"""Graph retrieval: personalised PageRank over entities and memories (HippoRAG 2; §8.1).

An owner's graph is loaded from SQL into networkx (:func:`load_graph`) and cached until its
mentions change (:class:`GraphCache`). Nodes are memories (events and active facts, by index
key) and entities; edges are

- memory — entity, one per mention (weight 1),
- fact — its source events (weight 1): a fact leads to the turns it came from,
- subject — value of a fact's triple (weight: how many facts link the pair),
- event — the next event of its conversation (weight ``retrieval.graph_turn_weight``; 0: none).

A graph round (:func:`expand`) starts from what the rounds before found: the top hits are seeds
(weight ``hit_weight`` × their relevance), so are their entities and the query's own entities
(each ``1 / |memories mentioning it|``, HippoRAG's phrase weighting, so that a speaker named in
every turn weighs little). PPR with damping ``d`` (``π = (1 - d)·r + d·Pᵀπ``, HippoRAG's 0.5)
ranks every memory; that ranking is fused into the merged results by weighted RRF, as one more
ranked list. The walk runs on a CSR matrix built once per graph version (power iteration, a
few milliseconds for tens of thousands of nodes), the matrix being networkx's own adjacency.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.orm import Session

from memsvc.graph.mentions import query_keys
from memsvc.index.ids import encode_key
from memsvc.retrieval.iterative import IterativeResult, Retrieved, RoundTrace
from memsvc.store import tables as t
from memsvc.store.jobs import scope_key
from memsvc.types import FactStatus, MemoryKind, MemoryRef, Scope

__all__ = ["GraphCache", "GraphRound", "LoadedGraph", "expand", "load_graph", "ppr"]

logger = logging.getLogger(__name__)

_ITERATIONS = 30
_TOL = 1e-7


def _entity_node(entity_id: int) -> int:
    return -int(entity_id)  # memory keys are positive


@dataclass
class LoadedGraph:
    """One owner's graph: the networkx graph, and what a walk needs, precomputed.

    Attributes:
        graph: the undirected weighted graph (memory keys > 0, entities as ``-entity_id``).
        entity_keys: normalised entity key -> entity node.
        memory_entities: memory key -> its entity nodes.
        degree: entity node -> number of memories mentioning it.
        nodes: the matrix order of the nodes; ``index`` its inverse.
        transition: row-stochastic transition matrix (CSR).
    """

    graph: nx.Graph
    entity_keys: dict[str, int]
    memory_entities: dict[int, list[int]]
    degree: dict[int, int]
    nodes: list[int] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    transition: sp.csr_array | None = None

    def prepare(self) -> None:
        """Build the node order and the transition matrix (once per load)."""
        self.nodes = list(self.graph.nodes)
        self.index = {node: i for i, node in enumerate(self.nodes)}
        if not self.nodes:
            return
        adjacency = nx.to_scipy_sparse_array(
            self.graph, nodelist=self.nodes, weight="weight", format="csr"
        )
        sums = np.asarray(adjacency.sum(axis=1)).ravel()
        sums[sums == 0] = 1.0
        self.transition = sp.csr_array(sp.diags_array(1.0 / sums) @ adjacency)

    @property
    def memory_count(self) -> int:
        """How many memory nodes the graph holds."""
        return len(self.memory_entities)


def load_graph(
    session: Session, namespace_id: int, owner: Scope, *, turn_weight: float = 0.0
) -> LoadedGraph:
    """Read an owner's mentions and facts and build its graph (see the module docstring).

    With ``turn_weight`` > 0, each event is also linked to the next one told in its
    conversation (same scope, by event time) with that weight.
    """
    key = scope_key(owner)
    rows = session.execute(
        sa.select(
            t.EntityMention.entity_id,
            t.EntityMention.event_id,
            t.EntityMention.fact_id,
            t.EntityMention.role,
            t.Entity.key,
        )
        .join(t.Entity, t.Entity.id == t.EntityMention.entity_id)
        .where(t.EntityMention.namespace_id == namespace_id, t.EntityMention.owner_key == key)
    ).all()
    fact_rows = session.execute(
        sa.select(t.Fact.id, t.Fact.status, t.Fact.source_event_ids).where(
            t.Fact.namespace_id == namespace_id,
            t.Fact.id.in_({r.fact_id for r in rows if r.fact_id is not None} or {0}),
        )
    ).all()
    active = {
        fid: sources for fid, status, sources in fact_rows if status == FactStatus.ACTIVE.value
    }
    graph = nx.Graph()
    entity_keys: dict[str, int] = {}
    memory_entities: dict[int, list[int]] = {}
    ends: dict[int, dict[str, list[int]]] = {}
    for entity_id, event_id, fact_id, role, entity_key in rows:
        node = _entity_node(entity_id)
        if event_id is not None:
            memory = encode_key(MemoryRef(MemoryKind.EVENT, event_id))
        elif fact_id in active:
            memory = encode_key(MemoryRef(MemoryKind.FACT, fact_id))
            if role in ("subject", "value"):
                ends.setdefault(fact_id, {}).setdefault(role, []).append(node)
        else:
            continue
        entity_keys[entity_key] = node
        memory_entities.setdefault(memory, []).append(node)
        graph.add_edge(memory, node, weight=1.0)
    for fact_id, sources in active.items():
        fact = encode_key(MemoryRef(MemoryKind.FACT, fact_id))
        for event_id in sources or ():
            event = encode_key(MemoryRef(MemoryKind.EVENT, int(event_id)))
            if event in memory_entities:
                graph.add_edge(fact, event, weight=1.0)
    for pair in ends.values():
        for subject in pair.get("subject", ()):
            for value in pair.get("value", ()):
                if subject != value:
                    weight = graph.get_edge_data(subject, value, {"weight": 0.0})["weight"]
                    graph.add_edge(subject, value, weight=weight + 1.0)
    if turn_weight > 0:
        _link_turns(graph, session, namespace_id, owner, turn_weight)
    degree = dict.fromkeys(entity_keys.values(), 0)
    for entities in memory_entities.values():
        for node in entities:
            degree[node] += 1
    loaded = LoadedGraph(graph, entity_keys, memory_entities, degree)
    loaded.prepare()
    return loaded


def _owner_events(namespace_id: int, owner: Scope) -> list[sa.ColumnElement[bool]]:
    """Where-clauses for the events of an owner scope (any session)."""
    where = [t.Event.namespace_id == namespace_id]
    for column, value in ((t.Event.user_id, owner.user_id), (t.Event.agent_id, owner.agent_id)):
        where.append(column.is_(None) if value is None else column == value)
    return where


def _link_turns(
    graph: nx.Graph, session: Session, namespace_id: int, owner: Scope, weight: float
) -> None:
    """Link each of the owner's events to the next one of its conversation (session)."""
    rows = session.execute(
        sa.select(t.Event.id, t.Event.session_id)
        .where(*_owner_events(namespace_id, owner))
        .order_by(t.Event.session_id, t.Event.occurred_at, t.Event.id)
    ).all()
    for (earlier, conversation), (later, following) in itertools.pairwise(rows):
        if conversation == following:
            a = encode_key(MemoryRef(MemoryKind.EVENT, earlier))
            b = encode_key(MemoryRef(MemoryKind.EVENT, later))
            graph.add_edge(a, b, weight=weight)


def _version(session: Session, namespace_id: int, owner: Scope) -> tuple[int, ...]:
    """Changes whenever a mention or an event is written or deleted (counts and highest ids)."""
    count, top = session.execute(
        sa.select(sa.func.count(t.EntityMention.id), sa.func.max(t.EntityMention.id)).where(
            t.EntityMention.namespace_id == namespace_id,
            t.EntityMention.owner_key == scope_key(owner),
        )
    ).one()
    events, last = session.execute(
        sa.select(sa.func.count(t.Event.id), sa.func.max(t.Event.id)).where(
            *_owner_events(namespace_id, owner)
        )
    ).one()
    return int(count or 0), int(top or 0), int(events or 0), int(last or 0)


class GraphCache:
    """Loaded graphs per (namespace, owner), reloaded when their mentions change.

    The mentions' version is read again only when ``seq`` (the namespace's change-log
    sequence, which every write moves) has moved since the last look.

    Args:
        capacity: owners kept (least recently used dropped).
        turn_weight: weight of the edge from each event to the next (0: none).
    """

    def __init__(self, capacity: int = 64, *, turn_weight: float = 0.0) -> None:
        self._capacity = capacity
        self._turn_weight = turn_weight
        self._graphs: OrderedDict[tuple[int, str], tuple[int, tuple[int, ...], LoadedGraph]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, session: Session, namespace_id: int, owner: Scope, *, seq: int) -> LoadedGraph:
        """The owner's graph as of change-log sequence ``seq``."""
        key = (namespace_id, scope_key(owner))
        with self._lock:
            found = self._graphs.get(key)
        if found is not None and found[0] == seq:
            return found[2]
        version = _version(session, namespace_id, owner)
        if found is not None and found[1] == version:
            graph = found[2]
        else:
            graph = load_graph(session, namespace_id, owner, turn_weight=self._turn_weight)
            logger.debug(
                "graph loaded: %d nodes, %d edges", graph.graph.number_of_nodes(),
                graph.graph.number_of_edges(),
            )  # fmt: skip
        with self._lock:
            self._graphs[key] = (seq, version, graph)
            self._graphs.move_to_end(key)
            while len(self._graphs) > self._capacity:
                self._graphs.popitem(last=False)
        return graph


def ppr(
    graph: LoadedGraph, seeds: Mapping[int, float], *, damping: float = 0.5
) -> npt.NDArray[np.float64]:
    """Personalised PageRank from ``seeds`` (node -> weight); scores in ``graph.nodes`` order."""
    n = len(graph.nodes)
    reset = np.zeros(n)
    for node, weight in seeds.items():
        i = graph.index.get(node)
        if i is not None and weight > 0:
            reset[i] += weight
    total = reset.sum()
    if total <= 0 or graph.transition is None:
        return reset
    reset /= total
    transposed = graph.transition.T
    scores = reset.copy()
    for _ in range(_ITERATIONS):
        nxt = (1.0 - damping) * reset + damping * (transposed @ scores)
        if np.abs(nxt - scores).sum() < _TOL:
            return np.asarray(nxt)
        scores = nxt
    return np.asarray(scores)


@dataclass(frozen=True)
class GraphRound:
    """How a graph round seeds and fuses (``retrieval.graph_*`` settings).

    ``fusion`` "rrf" adds ``weight / (rrf_k + rank)`` to a memory's score; "max" and "or" give
    it a relevance of the walk's own, ``weight × π(m) / max π`` over the ranked memories, kept
    beside its relevance so far (``score / scale``, ``scale`` being the fused score that means
    relevance 1) as the better of the two ("max") or ``1 - (1 - a)(1 - b)`` ("or").
    """

    seeds: int = 10
    hit_weight: float = 0.05
    query_weight: float = 1.0
    damping: float = 0.5
    candidates: int = 50
    weight: float = 0.7
    rrf_k: int = 60
    fusion: Literal["rrf", "max", "or"] = "or"
    scale: float = 2.0 / 61


def _seeds(
    graph: LoadedGraph, query: str, top: Sequence[Retrieved], cfg: GraphRound
) -> dict[int, float]:
    """Reset weights: the hits, their entities (``relevance / degree``), the query's entities.

    An entity that only the hit itself mentions is left out: it leads nowhere the hit does not,
    and at degree 1 it would weigh as much as the hit's whole relevance.
    """
    seeds: dict[int, float] = {}
    best = max((item.score for item in top), default=0.0) or 1.0
    for item in top:
        relevance = item.score / best
        seeds[item.key] = seeds.get(item.key, 0.0) + cfg.hit_weight * relevance
        for node in graph.memory_entities.get(item.key, ()):
            if graph.degree[node] > 1:
                seeds[node] = seeds.get(node, 0.0) + relevance / graph.degree[node]
    for key in query_keys(query):
        named = graph.entity_keys.get(key)
        if named is not None:
            seeds[named] = seeds.get(named, 0.0) + cfg.query_weight / graph.degree[named]
    return seeds


def _fused(cfg: GraphRound, before: float, rank: int, walk: float) -> float:
    """A memory's fused score after a graph round ranked it ``rank`` (walk score ``walk``,
    relative to the round's best) given its fused score ``before`` (0: new)."""
    if cfg.fusion == "rrf":
        return before + cfg.weight / (cfg.rrf_k + rank)
    had, found = min(before / cfg.scale, 1.0), min(cfg.weight * walk, 1.0)
    combined = max(had, found) if cfg.fusion == "max" else 1.0 - (1.0 - had) * (1.0 - found)
    return max(before, combined * cfg.scale)


def expand(
    graph: LoadedGraph,
    query: str,
    first: IterativeResult,
    *,
    rounds: int,
    cfg: GraphRound,
    admit: Callable[[Sequence[int]], set[int]],
    parts: dict[int, Mapping[str, float]],
) -> IterativeResult:
    """Run ``rounds`` graph rounds after ``first``; each seeds from the merged results so far.

    Args:
        graph: the owner's graph.
        query: the user's query (its entities are seeds too).
        first: the merged results of the hybrid round(s).
        rounds: how many graph rounds.
        cfg: seeding and fusion.
        admit: which of the given memory keys the search may return (scope, filters, status).
        parts: per-key score parts of the search; graph ranks are recorded in it.

    Returns:
        ``first``'s items with the graph's RRF share added, new keys included, best first.
    """
    best = {item.key: item for item in first.items}
    traces = list(first.rounds)
    memory_nodes = np.array([node > 0 for node in graph.nodes], dtype=bool)
    for round_no in range(len(traces), len(traces) + rounds):
        ordered = sorted(best.values(), key=lambda r: (-r.score, r.round, r.rank, r.key))
        seeded = [item for item in ordered if item.key in graph.index][: cfg.seeds]
        seeds = _seeds(graph, query, seeded, cfg)
        if not seeds:
            break
        scores = ppr(graph, seeds, damping=cfg.damping)
        scores[~memory_nodes] = -1.0
        for item in seeded:  # the walk ranks what the seeds lead to, not the seeds again
            scores[graph.index[item.key]] = -1.0
        want = min(cfg.candidates * 2, int(memory_nodes.sum()))
        top = np.argsort(-scores)[:want]
        keys = [graph.nodes[i] for i in top if scores[i] > 0]
        allowed = admit(keys)
        ranked = [k for k in keys if k in allowed][: cfg.candidates]
        walked = {graph.nodes[i]: float(scores[i]) for i in top if graph.nodes[i] in allowed}
        peak = max(walked.values(), default=0.0) or 1.0
        new = 0
        for rank, key in enumerate(ranked, start=1):
            known = best.get(key)
            score = _fused(cfg, known.score if known else 0.0, rank, walked[key] / peak)
            if known is None:
                best[key] = Retrieved(key, score, "", round_no, rank)
                new += 1
            else:
                best[key] = Retrieved(key, score, known.text, known.round, known.rank)
            parts[key] = {**parts.get(key, {}), f"graph_{round_no}": float(rank)}
        traces.append(RoundTrace(round_no, f"graph: {len(seeds)} seeds", len(ranked), new))
        if new == 0:
            break
    items = tuple(sorted(best.values(), key=lambda r: (-r.score, r.round, r.rank, r.key)))
    return IterativeResult(items=items, rounds=tuple(traces))
