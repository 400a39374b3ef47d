"""The Ebbinghaus curve: formula, reinforcement and the deterministic forget sweep."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from memsvc.config import DecaySettings
from memsvc.errors import InvalidInput
from memsvc.policies.decay import (
    forget_sweep,
    half_life_days,
    initial_strength,
    reinforce,
    retention,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_initial_strength_is_linear_in_importance() -> None:
    cfg = DecaySettings(initial_strength_min=1.0, initial_strength_max=3.0)
    assert initial_strength(0.0, cfg) == 1.0
    assert initial_strength(0.25, cfg) == 1.5
    assert initial_strength(1.0, cfg) == 3.0


def test_initial_strength_clamps_importance_outside_unit_interval() -> None:
    cfg = DecaySettings(initial_strength_min=2.0, initial_strength_max=4.0)
    assert initial_strength(-0.5, cfg) == 2.0
    assert initial_strength(7.0, cfg) == 4.0


def test_retention_follows_exp_minus_dt_over_tau_s() -> None:
    last = NOW - timedelta(days=3, hours=12)
    value = retention(strength=2.0, last_at=last, now=NOW, tau_days=5.0)
    assert value == pytest.approx(math.exp(-3.5 / 10.0), rel=1e-12)


def test_retention_uses_fractional_days() -> None:
    value = retention(strength=1.0, last_at=NOW - timedelta(hours=6), now=NOW, tau_days=1.0)
    assert value == pytest.approx(math.exp(-0.25), rel=1e-12)


def test_retention_is_one_at_recall_and_for_a_future_last_at() -> None:
    assert retention(strength=1.0, last_at=NOW, now=NOW, tau_days=5.0) == 1.0
    future = NOW + timedelta(days=2)
    assert retention(strength=1.0, last_at=future, now=NOW, tau_days=5.0) == 1.0


def test_retention_treats_naive_times_as_utc() -> None:
    naive = datetime(2024, 5, 31, 12, 0)
    value = retention(strength=1.0, last_at=naive, now=NOW, tau_days=5.0)
    assert value == pytest.approx(math.exp(-1 / 5.0), rel=1e-12)


def test_retention_halves_after_the_half_life() -> None:
    days = half_life_days(3.0, 5.0)
    assert days == pytest.approx(3.0 * 5.0 * math.log(2))
    value = retention(strength=3.0, last_at=NOW - timedelta(days=days), now=NOW, tau_days=5.0)
    assert value == pytest.approx(0.5, rel=1e-9)


@pytest.mark.parametrize(("strength", "tau"), [(0.0, 5.0), (-1.0, 5.0), (1.0, 0.0)])
def test_retention_rejects_non_positive_parameters(strength: float, tau: float) -> None:
    with pytest.raises(InvalidInput):
        retention(strength=strength, last_at=NOW, now=NOW, tau_days=tau)


def test_reinforce_adds_one_to_strength_and_recall_count() -> None:
    assert reinforce(1.0, 0) == (2.0, 1)
    assert reinforce(2.5, 4) == (3.5, 5)


def test_reinforce_slows_forgetting() -> None:
    last = NOW - timedelta(days=4)
    strength, _ = reinforce(1.0, 0)
    before = retention(strength=1.0, last_at=last, now=NOW, tau_days=5.0)
    after = retention(strength=strength, last_at=last, now=NOW, tau_days=5.0)
    assert after == pytest.approx(math.sqrt(before))
    assert after > before


def test_forget_sweep_marks_only_facts_below_the_threshold() -> None:
    cfg = DecaySettings(tau_days=5.0, forget_below=0.05)
    # R = exp(-t/5S) < 0.05  <=>  t > 5·S·ln 20 ≈ 14.98·S days.
    facts = [
        (1, 1.0, NOW - timedelta(days=14)),  # R ≈ 0.061: kept
        (2, 1.0, NOW - timedelta(days=16)),  # R ≈ 0.041: forgotten
        (3, 2.0, NOW - timedelta(days=16)),  # R ≈ 0.20: kept, reinforced once
        (4, 2.0, NOW - timedelta(days=31)),  # R ≈ 0.045: forgotten
    ]
    assert forget_sweep(facts, now=NOW, cfg=cfg) == [2, 4]


def test_forget_sweep_is_deterministic_and_order_independent() -> None:
    cfg = DecaySettings()
    rng = random.Random(7)
    facts = [
        (i, rng.uniform(1.0, 5.0), NOW - timedelta(days=rng.uniform(0.0, 60.0))) for i in range(500)
    ]
    first = forget_sweep(facts, now=NOW, cfg=cfg)
    shuffled = list(facts)
    rng.shuffle(shuffled)
    assert forget_sweep(iter(shuffled), now=NOW, cfg=cfg) == first
    assert forget_sweep(facts, now=NOW, cfg=cfg) == first
    assert 0 < len(first) < len(facts)
    assert first == sorted(first)
