"""The final score of a candidate: relevance modulated by retention, recency and time.

::

    score = relevance
            * (1 - w_ret + w_ret · R)          R   = exp(-Δt / (τ·S))  (policies.decay.retention)
            * (1 - w_rec + w_rec · recency)    rec = 0.5 ** (age / half_life)
            * (1 + w_time · time_boost)        1 inside the query's time window (timeparse)

Relevance (the fused RRF score divided by its maximum, see
:func:`memsvc.retrieval.fusion.max_fused_score`) stays the main signal: the other factors can
only scale it, so an irrelevant memory never wins by being fresh. Weights come from
:class:`~memsvc.config.RetrievalSettings` and :class:`~memsvc.config.DecaySettings`.

Two clocks are used on purpose. Retention is measured on the service's clock (``now``): it is
about how long since the *system* last recalled or learned a memory. Recency is measured against
``reference_at``, the scope's latest event time, because an imported conversation lives in its
own past. Validity is bi-temporal: with ``as_of``, a memory is kept only if it was valid then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from memsvc.config import DecaySettings, RetrievalSettings
from memsvc.retrieval.timeparse import TimeWindow, time_boost
from memsvc.types import utc

__all__ = ["RetentionCurve", "ScoreSignals", "Scored", "Scorer", "is_valid_at", "recency"]

_DAY_S = 86_400.0


class RetentionCurve(Protocol):
    """The forgetting curve: :func:`memsvc.policies.decay.retention` is the one implementation.

    It is injected rather than imported because retrieval and policies are independent layers.
    """

    def __call__(
        self, *, strength: float, last_at: datetime, now: datetime, tau_days: float
    ) -> float: ...


def recency(occurred_at: datetime, *, reference_at: datetime, half_life_days: float) -> float:
    """``0.5 ** (age / half_life)``, the age in days before ``reference_at`` (never negative)."""
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    age_days = max((utc(reference_at) - utc(occurred_at)).total_seconds() / _DAY_S, 0.0)
    return float(0.5 ** (age_days / half_life_days))


def is_valid_at(valid_from: datetime | None, valid_to: datetime | None, at: datetime) -> bool:
    """Bi-temporal validity: ``valid_from <= at`` and (``valid_to`` is None or ``valid_to > at``).

    A missing ``valid_from`` means valid since always.
    """
    at = utc(at)
    return (valid_from is None or utc(valid_from) <= at) and (
        valid_to is None or utc(valid_to) > at
    )


@dataclass(frozen=True, slots=True)
class ScoreSignals:
    """What the scorer needs to know about a candidate besides its relevance.

    Attributes:
        occurred_at: event time (for derived memories: the latest source event).
        strength: Ebbinghaus strength ``S``; ``None`` for memories that do not decay (events,
            episodes, summaries), whose retention factor is then 1.
        last_recalled_at: the last time a search returned it.
        created_at: when the memory was stored; the decay clock starts here when it was
            never recalled.
        valid_from: start of validity (facts); events are valid from ``occurred_at``.
        valid_to: end of validity, set when a fact is superseded.
        role: who said it (events): ``retrieval.role_weights`` scales the score by it.
    """

    occurred_at: datetime | None = None
    strength: float | None = None
    last_recalled_at: datetime | None = None
    created_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    """A final score and its parts: ``relevance``, ``retention``, ``recency``, ``time``."""

    score: float
    parts: Mapping[str, float]


class Scorer:
    """Combines relevance with retention, recency, validity and the query's time window.

    Args:
        retrieval: ``recency_weight``, ``recency_half_life_days`` and ``time_weight``.
        decay: ``weight`` (of retention) and ``tau_days``.
        retention: the forgetting curve, ``memsvc.policies.decay.retention``.

    Example:
        ``Scorer(settings.retrieval, settings.consolidation.decay, retention=decay.retention)``
    """

    def __init__(
        self, retrieval: RetrievalSettings, decay: DecaySettings, *, retention: RetentionCurve
    ) -> None:
        self._retrieval = retrieval
        self._decay = decay
        self._retention_curve = retention

    def score(
        self,
        relevance: float,
        signals: ScoreSignals,
        *,
        now: datetime,
        reference_at: datetime | None = None,
        as_of: datetime | None = None,
        window: TimeWindow | None = None,
    ) -> Scored | None:
        """Score one candidate.

        Args:
            relevance: fused relevance in [0, 1].
            signals: the candidate's times and strength.
            now: the service clock, for retention.
            reference_at: the scope's present, for recency (default: ``now``).
            as_of: when given, a candidate not valid at that time is dropped.
            window: the query's time window, if it had one.

        Returns:
            The score and its parts, or ``None`` when the candidate was not valid at ``as_of``.
        """
        if as_of is not None and not self._valid(signals, as_of):
            return None
        kept = self._retention(signals, now)
        fresh = self._recency(signals, reference_at or now)
        boost = 0.0 if window is None else time_boost(signals.occurred_at, window)
        w_ret, w_rec = self._decay.weight, self._retrieval.recency_weight
        role = 1.0 if signals.role is None else self._retrieval.role_weights.get(signals.role, 1.0)
        score = (
            relevance
            * (1.0 - w_ret + w_ret * kept)
            * (1.0 - w_rec + w_rec * fresh)
            * (1.0 + self._retrieval.time_weight * boost)
            * role
        )
        parts = {"relevance": relevance, "retention": kept, "recency": fresh, "time": boost}
        if role != 1.0:
            parts["role"] = role
        return Scored(score=score, parts=parts)

    @staticmethod
    def _valid(signals: ScoreSignals, as_of: datetime) -> bool:
        valid_from = signals.valid_from if signals.valid_from is not None else signals.occurred_at
        return is_valid_at(valid_from, signals.valid_to, as_of)

    def _retention(self, signals: ScoreSignals, now: datetime) -> float:
        last_at = signals.last_recalled_at or signals.created_at or signals.valid_from
        if signals.strength is None or last_at is None:
            return 1.0
        return self._retention_curve(
            strength=signals.strength, last_at=last_at, now=now, tau_days=self._decay.tau_days
        )

    def _recency(self, signals: ScoreSignals, reference_at: datetime) -> float:
        if signals.occurred_at is None:
            return 1.0
        return recency(
            signals.occurred_at,
            reference_at=reference_at,
            half_life_days=self._retrieval.recency_half_life_days,
        )
