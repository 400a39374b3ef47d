"""Final scoring: retention, recency, validity and the time window."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from memsvc.config import DecaySettings, RetrievalSettings
from memsvc.policies.decay import retention
from memsvc.retrieval.scoring import Scorer, ScoreSignals, is_valid_at, recency
from memsvc.retrieval.timeparse import TimeWindow

NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def test_recency_halves_every_half_life() -> None:
    value = recency(NOW - timedelta(days=60), reference_at=NOW, half_life_days=30.0)

    assert value == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "at", "expected"),
    [
        (datetime(2023, 1, 1, tzinfo=UTC), None, datetime(2023, 6, 1, tzinfo=UTC), True),
        (datetime(2023, 1, 1, tzinfo=UTC), None, datetime(2022, 6, 1, tzinfo=UTC), False),
        (
            datetime(2023, 1, 1, tzinfo=UTC),
            datetime(2023, 3, 1, tzinfo=UTC),
            datetime(2023, 3, 1, tzinfo=UTC),
            False,
        ),
        (
            datetime(2023, 1, 1, tzinfo=UTC),
            datetime(2023, 3, 1, tzinfo=UTC),
            datetime(2023, 2, 28, tzinfo=UTC),
            True,
        ),
        (datetime(2023, 1, 1, tzinfo=UTC), None, datetime(2023, 1, 1, tzinfo=UTC), True),
        (None, None, datetime(1990, 1, 1, tzinfo=UTC), True),
    ],
)
def test_is_valid_at_is_half_open(
    valid_from: datetime | None, valid_to: datetime | None, at: datetime, expected: bool
) -> None:
    assert is_valid_at(valid_from, valid_to, at) is expected


def make_scorer(**retrieval: float) -> Scorer:
    settings = RetrievalSettings.model_validate(retrieval)
    return Scorer(settings, DecaySettings(weight=0.2, tau_days=5.0), retention=retention)


def test_scorer_without_signals_returns_the_relevance() -> None:
    scored = make_scorer().score(0.7, ScoreSignals(), now=NOW)

    assert scored is not None
    assert scored.score == pytest.approx(0.7)
    assert scored.parts == {"relevance": 0.7, "retention": 1.0, "recency": 1.0, "time": 0.0}


def test_scorer_dampens_a_decayed_fact_by_the_retention_weight() -> None:
    signals = ScoreSignals(strength=1.0, created_at=NOW - timedelta(days=5))

    scored = make_scorer().score(1.0, signals, now=NOW)

    assert scored is not None
    assert scored.parts["retention"] == pytest.approx(math.exp(-1))
    assert scored.score == pytest.approx(0.8 + 0.2 * math.exp(-1))


def test_scorer_uses_the_last_recall_over_creation() -> None:
    fresh = ScoreSignals(strength=1.0, created_at=NOW - timedelta(days=30), last_recalled_at=NOW)

    scored = make_scorer().score(1.0, fresh, now=NOW)

    assert scored is not None
    assert scored.parts["retention"] == 1.0


def test_scorer_recency_is_measured_against_the_reference_time() -> None:
    signals = ScoreSignals(occurred_at=datetime(2023, 5, 1, tzinfo=UTC))

    scored = make_scorer(recency_weight=0.5, recency_half_life_days=30.0).score(
        1.0, signals, now=NOW, reference_at=datetime(2023, 5, 31, tzinfo=UTC)
    )

    assert scored is not None
    assert scored.parts["recency"] == pytest.approx(0.5)
    assert scored.score == pytest.approx(0.75)


def test_scorer_boosts_memories_inside_the_time_window() -> None:
    window = TimeWindow(datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 6, 1, tzinfo=UTC))
    inside = ScoreSignals(occurred_at=datetime(2023, 5, 8, tzinfo=UTC))
    outside = ScoreSignals(occurred_at=datetime(2023, 9, 8, tzinfo=UTC))
    scorer = make_scorer(time_weight=0.5)

    a = scorer.score(0.5, inside, now=NOW, window=window)
    b = scorer.score(0.5, outside, now=NOW, window=window)

    assert a is not None and b is not None
    assert a.score == pytest.approx(0.75)
    assert 0.5 <= b.score < a.score


def test_scorer_drops_a_fact_not_valid_as_of() -> None:
    superseded = ScoreSignals(
        valid_from=datetime(2023, 1, 1, tzinfo=UTC), valid_to=datetime(2023, 3, 1, tzinfo=UTC)
    )
    scorer = make_scorer()

    assert scorer.score(0.9, superseded, now=NOW, as_of=datetime(2023, 4, 1, tzinfo=UTC)) is None
    assert scorer.score(0.9, superseded, now=NOW, as_of=datetime(2023, 2, 1, tzinfo=UTC))


def test_scorer_drops_an_event_that_had_not_happened_as_of() -> None:
    event = ScoreSignals(occurred_at=datetime(2023, 5, 8, tzinfo=UTC))

    scored = make_scorer().score(0.9, event, now=NOW, as_of=datetime(2023, 5, 1, tzinfo=UTC))

    assert scored is None


def test_scorer_never_lifts_an_irrelevant_memory_above_a_relevant_one() -> None:
    scorer = make_scorer(recency_weight=1.0, time_weight=0.0)
    old_relevant = ScoreSignals(occurred_at=NOW - timedelta(days=10))
    new_irrelevant = ScoreSignals(occurred_at=NOW)

    a = scorer.score(0.9, old_relevant, now=NOW)
    b = scorer.score(0.0, new_irrelevant, now=NOW)

    assert a is not None and b is not None
    assert a.score > b.score == 0.0
