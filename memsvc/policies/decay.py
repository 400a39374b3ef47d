"""The Ebbinghaus forgetting curve of MemoryBank (ALGORITHMS.md §1.2).

Retention is ``R = exp(-Δt / (τ·S))``: ``Δt`` is the time in (fractional) days since the memory
was last recalled (or created), ``τ`` the time scale (``DecaySettings.tau_days``, 5 days as the
MemoryBank code intends; its ``exp(-t / 5*S)`` is a precedence bug that we do not copy) and ``S``
the strength, which grows by one on every recall. Forgetting is a deterministic threshold on
``R``, not MemoryBank's coin flip, so a sweep is reproducible.

This module is the one source of the formula: retrieval scoring calls :func:`retention` too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from memsvc.config import DecaySettings
from memsvc.errors import InvalidInput
from memsvc.types import utc

__all__ = ["forget_sweep", "half_life_days", "initial_strength", "reinforce", "retention"]

_SECONDS_PER_DAY = 86_400.0


def initial_strength(importance: float, cfg: DecaySettings) -> float:
    """Strength ``S`` of a new fact: linear in importance between the configured bounds.

    Args:
        importance: in ``[0, 1]``; values outside are clamped.
        cfg: ``initial_strength_min`` is the strength at importance 0, ``initial_strength_max``
            at importance 1.
    """
    if math.isnan(importance):
        raise InvalidInput("importance must be a number in [0, 1]")
    weight = min(1.0, max(0.0, importance))
    low, high = cfg.initial_strength_min, cfg.initial_strength_max
    return low + weight * (high - low)


def retention(*, strength: float, last_at: datetime, now: datetime, tau_days: float) -> float:
    """Retention ``exp(-Δt / (τ·S))`` in ``(0, 1]``.

    Args:
        strength: ``S > 0``.
        last_at: when the memory was last recalled, or created if never recalled.
        now: the time retention is evaluated at. A ``last_at`` in the future (clock skew)
            counts as ``Δt = 0``.
        tau_days: the time scale ``τ > 0`` in days.

    Raises:
        InvalidInput: ``strength`` or ``tau_days`` is not positive.
    """
    if not strength > 0 or not tau_days > 0:
        raise InvalidInput(
            "strength and tau_days must be positive",
            detail={"strength": strength, "tau_days": tau_days},
        )
    elapsed_days = max(0.0, (utc(now) - utc(last_at)).total_seconds() / _SECONDS_PER_DAY)
    return math.exp(-elapsed_days / (tau_days * strength))


def half_life_days(strength: float, tau_days: float) -> float:
    """Days until retention halves: ``τ·S·ln 2`` (about 3.47·S days with τ = 5)."""
    return tau_days * strength * math.log(2.0)


def reinforce(strength: float, recall_count: int) -> tuple[float, int]:
    """A recall: strength and recall count each grow by one (the caller resets ``last_at``)."""
    return strength + 1.0, recall_count + 1


def forget_sweep(
    facts: Iterable[tuple[int, float, datetime]], *, now: datetime, cfg: DecaySettings
) -> list[int]:
    """Ids of the facts whose retention at ``now`` is below ``cfg.forget_below``.

    Args:
        facts: ``(id, strength, last_at)`` per fact, in any order; ``last_at`` is the last
            recall, or the creation time when the fact was never recalled.
        now: the time of the sweep.
        cfg: ``tau_days`` and the threshold ``forget_below``.

    Returns:
        The ids to mark forgotten, ascending. The same input always gives the same output.
    """
    forgotten = [
        fact_id
        for fact_id, strength, last_at in facts
        if retention(strength=strength, last_at=last_at, now=now, tau_days=cfg.tau_days)
        < cfg.forget_below
    ]
    forgotten.sort()
    return forgotten
