"""Surprise-based segmentation: forced cuts, size bounds, state round trips, refinement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsvc.config import SegmentationSettings
from memsvc.errors import ConfigError, InvalidInput
from memsvc.policies.segment import (
    BoundaryReason,
    Segment,
    Segmenter,
    SegmentItem,
    refine_boundary,
    segment,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _unit(rng: np.random.Generator, dim: int = 16) -> np.ndarray:
    v = rng.normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _topic_stream(
    sizes: list[int], *, seed: int = 0, noise: float = 0.35, dim: int = 32
) -> list[SegmentItem]:
    """Events around one random centre per topic, one minute apart, one session."""
    rng = np.random.default_rng(seed)
    items: list[SegmentItem] = []
    for size in sizes:
        centre = _unit(rng, dim)
        for _ in range(size):
            v = centre + noise * _unit(rng, dim)
            k = len(items)
            items.append(
                SegmentItem(
                    key=k,
                    embedding=(v / np.linalg.norm(v)).astype(np.float32),
                    occurred_at=T0 + timedelta(minutes=k),
                    session_id="s1",
                )
            )
    return items


def _run(segmenter: Segmenter, items: list[SegmentItem]) -> list[Segment]:
    out: list[Segment] = []
    for item in items:
        out.extend(segmenter.push(item))
    return out


def test_segment_session_change_always_cuts() -> None:
    items = _topic_stream([6])
    items = [
        SegmentItem(i.key, i.embedding, i.occurred_at, "a" if i.key < 2 else "b") for i in items
    ]
    segments = Segmenter(SegmentationSettings()).push
    closed = [s for item in items for s in segments(item)]
    assert [s.keys for s in closed] == [(0, 1)]
    assert closed[0].end_reason is BoundaryReason.SESSION
    assert closed[0].session_id == "a"


def test_segment_time_gap_always_cuts() -> None:
    items = _topic_stream([8])
    late = [
        SegmentItem(i.key, i.embedding, T0 + timedelta(minutes=i.key, hours=5 * (i.key >= 5)), "s1")
        for i in items
    ]
    segmenter = Segmenter(SegmentationSettings(max_gap_minutes=180))
    closed = _run(segmenter, late)
    assert [(s.keys, s.end_reason) for s in closed] == [((0, 1, 2, 3, 4), BoundaryReason.GAP)]
    assert closed[0].started_at == T0
    assert closed[0].ended_at == T0 + timedelta(minutes=4)
    assert [s.keys for s in segmenter.flush()] == [(5, 6, 7)]


def test_segment_without_times_or_sessions_never_cuts_by_gap() -> None:
    items = [SegmentItem(i.key, i.embedding) for i in _topic_stream([10], noise=0.0)]
    assert segment(items, SegmentationSettings()) == [list(range(10))]


def test_segment_max_events_bounds_every_episode() -> None:
    items = _topic_stream([30], noise=0.0)
    groups = segment(items, SegmentationSettings(max_events=8))
    assert [len(g) for g in groups] == [8, 8, 8, 6]


def test_segment_uses_the_given_lm_surprise() -> None:
    surprises = [2.0, 2.1, 1.9, 2.0, 2.2, 1.8, 2.0, 2.1, 9.0, 2.0, 2.1, 1.9]
    items = [
        SegmentItem(k, np.eye(4, dtype=np.float32)[0], surprise=s) for k, s in enumerate(surprises)
    ]
    assert segment(items, SegmentationSettings()) == [list(range(8)), list(range(8, 12))]


class _WordOverlapSurprise:
    """A real (if tiny) surprise model: the share of words not seen in the context."""

    def surprise(self, context: str, text: str) -> float:
        seen = set(context.lower().split())
        words = text.lower().split()
        return sum(w not in seen for w in words) / max(1, len(words))


def test_segment_uses_a_surprise_model_on_texts() -> None:
    texts = ["red apple pie"] * 7 + ["quantum field theory lecture"] + ["quantum field"] * 3
    same = np.eye(4, dtype=np.float32)[0]
    items = [SegmentItem(k, same, text=t) for k, t in enumerate(texts)]
    groups = segment(items, SegmentationSettings(), surprise_model=_WordOverlapSurprise())
    assert groups == [list(range(7)), list(range(7, 11))]


def test_segment_finds_planted_clusters_on_synthetic_vectors() -> None:
    groups = segment(_topic_stream([10, 12, 9], seed=3), SegmentationSettings())
    assert [g[0] for g in groups] == [0, 10, 22]


def test_segmenter_rejects_min_events_above_max_events() -> None:
    with pytest.raises(ConfigError):
        Segmenter(SegmentationSettings(min_events=10, max_events=5))


@pytest.mark.parametrize(
    "state",
    [
        {"version": 2, "surprises": []},
        {"version": 1, "surprises": ["x"], "pending_keys": [], "pending_surprises": []},
        {"version": 1, "surprises": [], "pending_keys": [1], "pending_surprises": []},
        {
            "version": 1,
            "surprises": [],
            "pending_keys": [1],
            "pending_surprises": [None],
            "pending_cut": 1,
        },
        [],
    ],
)
def test_segmenter_rejects_a_foreign_state(state: object) -> None:
    with pytest.raises(InvalidInput):
        Segmenter(SegmentationSettings(), state=state)  # type: ignore[arg-type]


def test_segmenter_state_is_small_and_json_serialisable() -> None:
    cfg = SegmentationSettings(window=8)
    segmenter = Segmenter(cfg)
    _run(segmenter, _topic_stream([20, 5]))
    state = json.loads(json.dumps(segmenter.to_state()))
    assert state["version"] == 1
    assert len(state["surprises"]) <= 8
    assert state["pending_keys"] == segmenter.pending_keys
    assert state["pending_keys"][-1] == 24


@pytest.mark.parametrize("refine", [False, True])
@pytest.mark.parametrize("stop", [5, 13, 27, 40])
def test_segmenter_resumed_from_state_matches_an_uninterrupted_run(refine: bool, stop: int) -> None:
    cfg = SegmentationSettings(refine=refine, window=12)
    items = _topic_stream([9, 14, 7, 12], seed=11, noise=0.5)
    reference = Segmenter(cfg)
    expected = _run(reference, items) + reference.flush()

    first = Segmenter(cfg)
    got = _run(first, items[:stop])
    state = json.loads(json.dumps(first.to_state()))
    by_key = {i.key: i for i in items}
    second = Segmenter(cfg, state=state, pending=[by_key[k] for k in state["pending_keys"]])
    got += _run(second, items[stop:]) + second.flush()
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 15), min_size=1, max_size=6),
    seed=st.integers(0, 10_000),
    min_events=st.integers(1, 5),
    max_events=st.integers(5, 12),
    refine=st.booleans(),
)
def test_segment_episodes_partition_the_stream_within_size_bounds(
    sizes: list[int], seed: int, min_events: int, max_events: int, refine: bool
) -> None:
    cfg = SegmentationSettings(
        min_events=min_events, max_events=max_events, refine=refine, window=8, gamma=0.5
    )
    items = _topic_stream(sizes, seed=seed, noise=0.6)
    segmenter = Segmenter(cfg)
    closed = _run(segmenter, items) + segmenter.flush()
    assert [k for s in closed for k in s.keys] == [i.key for i in items]
    assert all(1 <= len(s.keys) <= max_events for s in closed)
    assert all(len(s.keys) >= min_events for s in closed if s.end_reason is BoundaryReason.SURPRISE)


def _networkx_best_cut(vectors: np.ndarray, beta: int, min_size: int) -> int:
    adjacency = np.clip(vectors @ vectors.T, 0.0, None)
    np.fill_diagonal(adjacency, 0.0)
    graph = nx.from_numpy_array(adjacency)
    n = len(vectors)
    scores = {
        t: nx.community.modularity(graph, [set(range(t)), set(range(t, n))], weight="weight")
        for t in range(min_size, beta + 1)
    }
    best = max(scores.values())
    return max(t for t, q in scores.items() if q >= best - 1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_refine_boundary_agrees_with_networkx_modularity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = np.stack([_unit(rng, 8) for _ in range(14)]).astype(np.float64)
    beta = int(rng.integers(4, 13))
    got = refine_boundary(vectors.astype(np.float32), beta=beta, min_size=2)
    assert got == _networkx_best_cut(vectors, beta, 2)


def test_refine_boundary_moves_a_late_boundary_back_to_the_topic_change() -> None:
    items = _topic_stream([6, 8], seed=5, noise=0.2)
    vectors = np.stack([i.embedding for i in items])
    assert refine_boundary(vectors[:12], beta=9, min_size=2) == 6


def test_refine_boundary_keeps_beta_on_a_graph_without_edges() -> None:
    vectors = np.array([[1, 0], [-1, 0], [1, 0], [-1, 0]], dtype=np.float32)
    assert refine_boundary(vectors[:2], beta=1, min_size=1) == 1


def test_refine_boundary_rejects_beta_outside_the_window() -> None:
    with pytest.raises(InvalidInput):
        refine_boundary(np.eye(3, dtype=np.float32), beta=3, min_size=1)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 15), min_size=1, max_size=5),
    seed=st.integers(0, 10_000),
    stop=st.integers(0, 75),
    refine=st.booleans(),
    gamma=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_segmenter_resume_is_exact_at_any_point(
    sizes: list[int], seed: int, stop: int, refine: bool, gamma: float
) -> None:
    cfg = SegmentationSettings(refine=refine, gamma=gamma, window=6, max_events=10)
    items = _topic_stream(sizes, seed=seed, noise=0.6)
    reference = Segmenter(cfg)
    expected = _run(reference, items) + reference.flush()
    first = Segmenter(cfg)
    got = _run(first, items[:stop])
    state = first.to_state()
    second = Segmenter(cfg, state=state, pending=[items[k] for k in state["pending_keys"]])
    got += _run(second, items[stop:]) + second.flush()
    assert got == expected
