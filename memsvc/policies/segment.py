"""Surprise-based segmentation of an event stream into episodes (EM-LLM, ALGORITHMS.md §2.2-2.3).

EM-LLM cuts a token stream where the model is surprised: at ``t`` when
``s_t > mu + gamma*sigma``, with ``mu, sigma`` taken over a trailing window of earlier surprises.
Here the units are events (chat turns) and the surprise of an event is, by default,
``1 - cos(e_t, mean of the last context_events embeddings of the running episode)``; an LM
surprise (mean token NLL) can be given per event or computed by a
:class:`~memsvc.llm.base.SurpriseModel` instead.

Rules, in order, when an event arrives:

1. a change of ``session_id`` or a time gap above ``max_gap_minutes`` always cuts;
2. an episode that already holds ``max_events`` events is cut;
3. otherwise, a surprise above ``mu + gamma*sigma`` cuts, once the episode holds
   ``min_events`` events and the window holds at least :data:`MIN_HISTORY` surprises.

Surprises of events cut by rule 1 are not added to the window: a new session says nothing about
how surprising turns within a conversation are.

With ``refine`` on, a surprise boundary ``beta`` is moved by EM-LLM's Alg. 1: among the cuts
``t`` in ``[min_events, beta]`` of the running episode, the one that maximises the modularity of
the two-way split of the cosine-similarity graph over ``[alpha, beta + (beta - alpha)/2)`` wins
(ties keep the later cut). The online segmenter therefore waits for ``(beta - alpha)/2`` more
events (or a flush) before it closes such an episode. The window does not reach back before
``alpha``, because the previous episode has already been emitted. Refinement moves boundaries;
it never adds or removes one.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memsvc.config import SegmentationSettings
from memsvc.errors import ConfigError, InvalidInput
from memsvc.llm.base import SurpriseModel

__all__ = [
    "MIN_HISTORY",
    "STATE_VERSION",
    "BoundaryReason",
    "Segment",
    "SegmentItem",
    "Segmenter",
    "refine_boundary",
    "segment",
]

#: Surprises needed in the trailing window before a surprise boundary is trusted.
MIN_HISTORY = 4
#: Version of the dict written by :meth:`Segmenter.to_state`.
STATE_VERSION = 1


class BoundaryReason(enum.StrEnum):
    """Why an episode ended (stored as ``episode.boundary_reason``)."""

    SURPRISE = "surprise"
    SESSION = "session"
    GAP = "gap"
    MAX_EVENTS = "max_events"
    FLUSH = "flush"


@dataclass(frozen=True, slots=True)
class SegmentItem:
    """One event as the segmenter sees it.

    Args:
        key: the caller's id for the event (the event id); segments list these keys.
        embedding: the event's unit vector, shape ``(dim,)``.
        occurred_at: event time; ``None`` disables the time-gap rule for this event.
        session_id: a change of session always cuts; ``None`` is a value like any other.
        surprise: an LM surprise (mean token NLL) to use instead of the embedding surprise.
        text: the event text, needed only when a ``SurpriseModel`` is used.
    """

    key: int
    embedding: npt.NDArray[np.float32] = field(repr=False, compare=False)
    occurred_at: datetime | None = None
    session_id: str | None = None
    surprise: float | None = None
    text: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Segment:
    """A closed episode: the keys of its events, in order, and why it ended."""

    keys: tuple[int, ...]
    started_at: datetime | None
    ended_at: datetime | None
    session_id: str | None
    end_reason: BoundaryReason


class Segmenter:
    """Online segmentation: :meth:`push` events one at a time, :meth:`flush` at the end.

    The state worth keeping between runs is small (:meth:`to_state`): the trailing surprises of
    the events already emitted, and the keys and surprises of the events still pending. To
    continue after a restart, build ``Segmenter(cfg, state=saved, pending=events)`` where
    ``events`` are the items of ``saved["pending_keys"]``, then push the new events: the result
    is exactly that of an uninterrupted run. Pending events deleted in the meantime may simply
    be left out of ``events``.

    Args:
        cfg: thresholds and sizes.
        state: a dict from :meth:`to_state`, or ``None`` to start fresh.
        pending: the items named by ``state["pending_keys"]`` (any order; missing ones are
            taken as deleted).
        surprise_model: scores ``text`` after the running episode's texts when an item carries
            no ``surprise`` of its own. Use one source of surprise for a whole stream.

    Raises:
        ConfigError: ``min_events`` exceeds ``max_events``.
        InvalidInput: ``state`` is not a dict written by :meth:`to_state`, or ``pending``
            holds an item that the state does not name.
    """

    def __init__(
        self,
        cfg: SegmentationSettings,
        *,
        state: dict[str, Any] | None = None,
        pending: Sequence[SegmentItem] = (),
        surprise_model: SurpriseModel | None = None,
    ) -> None:
        if cfg.min_events > cfg.max_events:
            raise ConfigError(
                "segmentation.min_events must not exceed segmentation.max_events",
                detail={"min_events": cfg.min_events, "max_events": cfg.max_events},
            )
        self._cfg = cfg
        self._model = surprise_model
        saved = _parse_state(state)
        self._history: deque[float] = deque(saved.surprises, maxlen=cfg.window)
        self._buf: list[SegmentItem] = []
        self._buf_surprise: list[float | None] = []
        self._pending: int | None = None
        self._restore(saved, pending)

    def _restore(self, saved: _SavedState, items: Sequence[SegmentItem]) -> None:
        by_key = {item.key: item for item in items}
        unknown = set(by_key) - set(saved.pending_keys)
        if unknown:
            raise InvalidInput(
                "pending events are not those of the saved state",
                detail={"unknown_keys": sorted(unknown)[:20]},
            )
        cut = saved.pending_cut
        for position, key in enumerate(saved.pending_keys):
            item = by_key.get(key)
            if item is None:  # deleted since the state was saved
                if cut is not None and position < (saved.pending_cut or 0):
                    cut -= 1
                continue
            self._buf.append(item)
            self._buf_surprise.append(saved.pending_surprises[position])
        self._pending = cut if cut is not None and 0 < cut < len(self._buf) else None
        self._settle_head()

    def to_state(self) -> dict[str, Any]:
        """A small JSON-serialisable snapshot.

        Keys: ``version``; ``surprises`` (at most ``window`` floats); ``pending_keys`` and
        ``pending_surprises`` (at most about 1.5 x ``max_events`` entries each); ``pending_cut``
        (the position of a surprise boundary awaiting refinement, or ``None``).
        """
        return {
            "version": STATE_VERSION,
            "surprises": [float(s) for s in self._history],
            "pending_keys": [item.key for item in self._buf],
            "pending_surprises": [None if s is None else float(s) for s in self._buf_surprise],
            "pending_cut": self._pending,
        }

    @property
    def pending_keys(self) -> list[int]:
        """Keys of the events pushed but not yet part of a closed segment."""
        return [item.key for item in self._buf]

    def push(self, item: SegmentItem) -> list[Segment]:
        """Add the next event; returns the segments this closes (usually none, at most two)."""
        closed: list[Segment] = []
        reason = self._forced_reason(item)
        surprise: float | None = None
        if self._buf and reason not in (BoundaryReason.SESSION, BoundaryReason.GAP):
            surprise = self._surprise(item)
        if reason is None and surprise is not None and self._is_surprising(surprise):
            reason = BoundaryReason.SURPRISE
        if reason is not None and self._pending is not None:
            closed.append(self._resolve_pending())
        if reason is BoundaryReason.SURPRISE and self._cfg.refine:
            self._pending = len(self._buf)
        elif reason is not None:
            closed.append(self._emit(len(self._buf), reason))
        self._buf.append(item)
        self._buf_surprise.append(surprise)
        self._settle_head()
        if self._pending is not None and len(self._buf) - self._pending >= _lookahead(
            self._pending
        ):
            closed.append(self._resolve_pending())
        return closed

    def flush(self) -> list[Segment]:
        """Close whatever is pending (for example at the end of a job or of a stream)."""
        closed: list[Segment] = []
        if self._pending is not None:
            closed.append(self._resolve_pending())
        if self._buf:
            closed.append(self._emit(len(self._buf), BoundaryReason.FLUSH))
        return closed

    def _running(self) -> list[SegmentItem]:
        return self._buf[self._pending or 0 :]

    def _forced_reason(self, item: SegmentItem) -> BoundaryReason | None:
        if not self._buf:
            return None
        last = self._buf[-1]
        if item.session_id != last.session_id:
            return BoundaryReason.SESSION
        if item.occurred_at is not None and last.occurred_at is not None:
            gap_minutes = (item.occurred_at - last.occurred_at).total_seconds() / 60.0
            if gap_minutes > self._cfg.max_gap_minutes:
                return BoundaryReason.GAP
        if len(self._running()) >= self._cfg.max_events:
            return BoundaryReason.MAX_EVENTS
        return None

    def _surprise(self, item: SegmentItem) -> float:
        context = self._running()[-self._cfg.context_events :]
        if item.surprise is not None:
            return float(item.surprise)
        if self._model is not None and item.text is not None:
            text = "\n".join(c.text for c in context if c.text is not None)
            return float(self._model.surprise(text, item.text))
        mean = np.mean(np.stack([c.embedding for c in context]), axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            return 1.0
        return 1.0 - float(np.dot(item.embedding, mean)) / norm

    def _window(self) -> list[float]:
        recent = [s for s in self._buf_surprise if s is not None]
        values = [*self._history, *recent]
        return values[-self._cfg.window :]

    def _is_surprising(self, surprise: float) -> bool:
        if len(self._running()) < self._cfg.min_events:
            return False
        window = self._window()
        if len(window) < MIN_HISTORY:
            return False
        mu = sum(window) / len(window)
        sigma = math.sqrt(sum((s - mu) ** 2 for s in window) / len(window))
        return surprise > mu + self._cfg.gamma * sigma

    def _resolve_pending(self) -> Segment:
        beta = self._pending
        assert beta is not None
        end = min(len(self._buf), beta + _lookahead(beta))
        vectors = np.stack([item.embedding for item in self._buf[:end]])
        cut = refine_boundary(vectors, beta=beta, min_size=self._cfg.min_events)
        self._pending = None
        return self._emit(cut, BoundaryReason.SURPRISE)

    def _settle_head(self) -> None:
        # The first pending event's surprise was measured against an episode that is gone; a
        # replay from to_state() cannot recompute it, so it joins the saved history now.
        if self._buf_surprise and self._buf_surprise[0] is not None:
            self._history.append(self._buf_surprise[0])
            self._buf_surprise[0] = None

    def _emit(self, count: int, reason: BoundaryReason) -> Segment:
        items = self._buf[:count]
        self._history.extend(s for s in self._buf_surprise[:count] if s is not None)
        del self._buf[:count]
        del self._buf_surprise[:count]
        self._settle_head()
        return Segment(
            keys=tuple(item.key for item in items),
            started_at=items[0].occurred_at,
            ended_at=items[-1].occurred_at,
            session_id=items[0].session_id,
            end_reason=reason,
        )


def _lookahead(beta: int) -> int:
    """Events to wait for after a boundary beta (alpha = 0): ``(beta - alpha) / 2``, at least 1."""
    return max(1, beta // 2)


@dataclass(frozen=True, slots=True)
class _SavedState:
    surprises: list[float]
    pending_keys: list[int]
    pending_surprises: list[float | None]
    pending_cut: int | None


def _parse_state(state: dict[str, Any] | None) -> _SavedState:
    if state is None:
        return _SavedState([], [], [], None)
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise InvalidInput("segmenter state is not a version-1 state dict")
    surprises = state.get("surprises")
    keys = state.get("pending_keys")
    pending = state.get("pending_surprises")
    cut = state.get("pending_cut")
    if not (isinstance(surprises, list) and isinstance(keys, list) and isinstance(pending, list)):
        raise InvalidInput("segmenter state lists are missing")
    if len(keys) != len(pending) or not all(isinstance(k, int) for k in keys):
        raise InvalidInput("segmenter state has malformed pending events")
    if cut is not None and not (isinstance(cut, int) and 0 < cut < len(keys)):
        raise InvalidInput("segmenter state has a malformed pending cut")
    if not all(_is_number(s) for s in surprises) or not all(
        s is None or _is_number(s) for s in pending
    ):
        raise InvalidInput("segmenter state holds a non-numeric surprise")
    return _SavedState(
        surprises=[float(s) for s in surprises],
        pending_keys=list(keys),
        pending_surprises=[None if s is None else float(s) for s in pending],
        pending_cut=cut,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def refine_boundary(vectors: npt.NDArray[np.float32], *, beta: int, min_size: int) -> int:
    """The cut ``t`` in ``[min_size, beta]`` maximising the modularity of ``{[0, t), [t, n)}``.

    The graph is the cosine-similarity graph of ``vectors`` (unit rows, shape ``(n, dim)``),
    negative similarities clipped to zero and no self-loops. All cuts are scored in ``O(n²)``
    with 2-D prefix sums. Ties, and a graph with no edges, keep the latest cut (closest to beta).

    Raises:
        InvalidInput: ``beta`` is outside ``[1, n - 1]``.
    """
    n = len(vectors)
    if not 1 <= beta < n:
        raise InvalidInput("beta must leave at least one event on each side")
    low = min(max(1, min_size), beta)
    adjacency = np.clip(vectors.astype(np.float64) @ vectors.astype(np.float64).T, 0.0, None)
    np.fill_diagonal(adjacency, 0.0)
    degree = adjacency.sum(axis=1)
    two_m = float(degree.sum())
    if two_m <= 0.0:
        return beta
    prefix = np.zeros((n + 1, n + 1))
    prefix[1:, 1:] = adjacency.cumsum(axis=0).cumsum(axis=1)
    cuts = np.arange(low, beta + 1)
    inside_left = prefix[cuts, cuts]
    inside_right = prefix[n, n] - prefix[cuts, n] - prefix[n, cuts] + prefix[cuts, cuts]
    degree_left = np.concatenate(([0.0], degree.cumsum()))[cuts]
    expected = (degree_left**2 + (two_m - degree_left) ** 2) / two_m
    quality = (inside_left + inside_right - expected) / two_m
    best = float(quality.max())
    return int(cuts[quality >= best - 1e-12].max())


def segment(
    items: Sequence[SegmentItem],
    cfg: SegmentationSettings,
    *,
    surprise_model: SurpriseModel | None = None,
) -> list[list[int]]:
    """Segment a whole stream at once; returns the positions (0-based) of ``items`` per episode.

    Identical to pushing every item through a fresh :class:`Segmenter` and flushing.
    """
    segmenter = Segmenter(cfg, surprise_model=surprise_model)
    out: list[list[int]] = []
    for position, item in enumerate(items):
        out.extend(list(s.keys) for s in segmenter.push(replace(item, key=position)))
    out.extend(list(s.keys) for s in segmenter.flush())
    return out
