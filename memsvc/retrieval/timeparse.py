"""Time expressions in a query: a time window, and the query without the expression.

All times are relative to ``now``, which the caller passes: the time of the scope's latest event,
not the server clock, so that "last week" means the week before the conversation's present (a
conversation imported from 2023 keeps its own present). Day, week, month and year boundaries are
taken in UTC; weeks start on Monday.

Filter or boost? A window parsed from an explicit date or calendar period ("on 8 May, 2023",
"in 2022", "last week", "3 days ago", "between X and Y") has ``is_vague=False``: the service may use
it as a hard filter, widened by ``RetrievalSettings.time_filter_margin_days`` because people
mention an event days after it happened, and it also boosts what falls inside. A vague window has
``is_vague=True`` and is only ever a soft boost (:func:`time_boost`): "recently", "a few weeks
ago", and the relative months and years ("last year", "3 months ago"), because a question's
"last year" usually names when something happened while the memory of it was often told later
("our camping trip last year", said this year). The longest expression of a query is used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from memsvc.retrieval._dateatoms import (
    ANY_DATE,
    BARE_DATE,
    COUNT,
    UNIT,
    WEEKDAY,
    WEEKDAYS,
    parse_atom,
    parse_count,
)
from memsvc.types import utc

__all__ = ["ParsedQuery", "TimeWindow", "parse_time", "time_boost", "time_filter"]

#: How fast the boost falls outside a window with an open side, in days.
OPEN_WINDOW_SCALE_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A half-open interval ``[start, end)`` of aware UTC times; ``None`` leaves a side open.

    ``is_vague`` marks windows that must only boost, never filter; ``expression`` is the text
    the window was read from.
    """

    start: datetime | None
    end: datetime | None
    is_vague: bool = False
    expression: str = ""

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("a time window cannot end before it starts")

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` falls inside the window."""
        at = utc(at)
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    def widened(self, margin: timedelta) -> TimeWindow:
        """The window with ``margin`` added on each closed side (a filter's tolerance)."""
        return replace(
            self,
            start=None if self.start is None else self.start - margin,
            end=None if self.end is None else self.end + margin,
        )


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A query split into its time window and the rest of its text.

    ``text`` is the query with the expression (and its preposition) removed; it is the original
    query when nothing but the expression was there, so a search always has words to match.
    """

    text: str
    window: TimeWindow


# -- composites: prepositions and relations around atoms ---------------------------------------

_Bounds = tuple[date | None, date | None, bool]
_Composer = Callable[["re.Match[str]", date], "_Bounds | None"]
_START, _END = r"(?<!\w)", r"(?!\w)"


def _compose_between(m: re.Match[str], today: date) -> _Bounds | None:
    first, last = parse_atom(m["a"], today), parse_atom(m["b"], today)
    if first is None or last is None or last[1] < first[0]:
        return None
    return first[0], last[1], first[2] or last[2]


def _compose_relative(m: re.Match[str], today: date) -> _Bounds | None:
    span = parse_atom(m["a"], today)
    if span is None:
        return None
    start, end, is_vague = span
    unit = m["unit"].lower()
    length = {"day": 1, "weekend": 2, "week": 7, "month": 30, "year": 365}[unit]
    if " ".join(m["dir"].lower().split()) in {"before", "prior to"}:
        return start - timedelta(days=length), start, is_vague
    return end, end + timedelta(days=length), is_vague


def _compose_offset(m: re.Match[str], today: date) -> _Bounds | None:
    span = parse_atom(m["a"], today)
    if span is None:
        return None
    n, is_vague = parse_count(m["n"])
    unit_days = {"d": 1, "w": 7, "m": 30, "y": 365}[m["unit"].lower()[0]]
    sign = -1 if " ".join(m["dir"].lower().split()) in {"before", "prior to"} else 1
    centre = span[0] + timedelta(days=sign * n * unit_days)
    if unit_days == 1:
        return centre, centre + timedelta(days=1), is_vague or span[2]
    half = timedelta(days=max(unit_days // 2, 3))
    return centre - half, centre + half + timedelta(days=1), is_vague or span[2]


def _compose_weekday_relative(m: re.Match[str], today: date) -> _Bounds | None:
    span = parse_atom(m["a"], today)
    if span is None:
        return None
    start, end, is_vague = span
    weekday = WEEKDAYS[m["wd"].lower()]
    if " ".join(m["dir"].lower().split()) in {"before", "prior to"}:
        day = start - timedelta(days=(start.weekday() - weekday - 1) % 7 + 1)
    else:
        day = end + timedelta(days=(weekday - end.weekday()) % 7)
    return day, day + timedelta(days=1), is_vague


def _compose_open(m: re.Match[str], today: date) -> _Bounds | None:
    span = parse_atom(m["a"], today)
    if span is None:
        return None
    start, end, is_vague = span
    relation = " ".join(m["dir"].lower().split())
    if relation == "since":
        return start, None, is_vague
    if relation == "after":
        return end, None, is_vague
    if relation in {"until", "till", "up to"}:
        return None, end, is_vague
    return None, start, is_vague  # before, prior to


_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3}


def _compose_part(m: re.Match[str], today: date) -> _Bounds | None:
    """ "the last two weeks of August 2023", "the first weekend of October": part of a period."""
    span = parse_atom(m["a"], today)
    if span is None:
        return None
    start, end, is_vague = span
    n = parse_count(m["n"])[0] if m["n"] else 1
    which, unit = m["which"].lower(), m["unit"].lower().rstrip("s")
    if unit == "weekend":
        saturdays = [start + timedelta(days=(5 - start.weekday()) % 7 + 7 * i) for i in range(6)]
        saturdays = [d for d in saturdays if d < end]
        index = len(saturdays) - n if which in {"last", "final"} else _ORDINALS[which]
        if not saturdays or not 0 <= index < len(saturdays):
            return None
        first = saturdays[index]
        return first, min(first + timedelta(days=2 + 7 * (n - 1)), end), is_vague
    length = timedelta(days=n * (7 if unit == "week" else 1))
    if which in {"last", "final"}:
        return max(end - length, start), end, is_vague
    first = start + _ORDINALS[which] * length
    return (first, min(first + length, end), is_vague) if first < end else None


def _compose_until(m: re.Match[str], today: date) -> _Bounds | None:
    """ "as of December 2023": everything up to the end of the period."""
    span = parse_atom(m["a"], today)
    return None if span is None else (None, span[1], span[2])


def _compose_atom(m: re.Match[str], today: date) -> _Bounds | None:
    return parse_atom(m["a"], today)


_COMPOSITES: tuple[tuple[re.Pattern[str], _Composer], ...] = tuple(
    (re.compile(_START + pattern + _END, re.IGNORECASE), compose)
    for pattern, compose in (
        (
            rf"(?:between|from)\s+(?P<a>{ANY_DATE})\s+(?:and|to|until|till)\s+(?P<b>{ANY_DATE})",
            _compose_between,
        ),
        (
            r"(?:(?:in|during)\s+)?the\s+(?P<unit>day|weekend|week|month|year)\s+"
            rf"(?P<dir>before|after|prior\s+to|following)\s+(?P<a>{ANY_DATE})",
            _compose_relative,
        ),
        (
            rf"(?P<n>{COUNT})\s+(?P<unit>{UNIT})\s+(?P<dir>before|after|prior\s+to)"
            rf"\s+(?P<a>{ANY_DATE})",
            _compose_offset,
        ),
        (
            rf"(?:on\s+)?the\s+(?P<wd>{WEEKDAY})\s+(?P<dir>before|after|prior\s+to|following)"
            rf"\s+(?P<a>{ANY_DATE})",
            _compose_weekday_relative,
        ),
        (
            r"(?:(?:in|during|on|over)\s+)?the\s+(?P<which>first|second|third|fourth|last|final)"
            rf"\s+(?:(?P<n>{COUNT})\s+)?(?P<unit>weekends?|weeks?|days?)\s+of\s+"
            rf"(?P<a>{ANY_DATE})",
            _compose_part,
        ),
        (rf"as\s+of\s+(?P<a>{ANY_DATE})", _compose_until),
        (
            rf"(?P<dir>since|before|after|until|till|up\s+to|prior\s+to)\s+(?P<a>{ANY_DATE})",
            _compose_open,
        ),
        (rf"(?:in|on|during|from|of|over|within)\s+(?:the\s+)?(?P<a>{ANY_DATE})", _compose_atom),
        (rf"(?P<a>{BARE_DATE})", _compose_atom),
    )
)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _remove_span(query: str, start: int, end: int) -> str:
    text = f"{query[:start]} {query[end:]}"
    text = re.sub(r"\s+([?.!,;:])", r"\1", " ".join(text.split()))
    text = re.sub(r"[,;:]+([?.!])", r"\1", text)
    text = re.sub(r"^[,;:]\s*", "", text)
    return text if re.search(r"\w", text) else query


def parse_time(query: str, *, now: datetime) -> ParsedQuery | None:
    """Find a time expression in ``query`` and turn it into a window relative to ``now``.

    Args:
        query: the search text.
        now: the present of the scope (its latest event time), aware or naive UTC.

    Returns:
        The window and the query without the expression, or ``None`` when there is none (or
        when the only candidate names an impossible date such as 31 February).

    Example:
        ``parse_time("what did we do last week?", now=...)`` gives the Monday-to-Monday week
        before ``now``'s week and the text ``"what did we do?"``.
    """
    today = utc(now).date()
    found: list[tuple[int, int, re.Match[str], _Composer]] = []
    for pattern, compose in _COMPOSITES:
        found.extend((m.start(), m.end(), m, compose) for m in pattern.finditer(query))
    found.sort(key=lambda item: (item[0] - item[1], item[0]))
    for start, end, m, compose in found:
        bounds = compose(m, today)
        if bounds is None:
            continue
        first, last, is_vague = bounds
        window = TimeWindow(
            start=None if first is None else _midnight(first),
            end=None if last is None else _midnight(last),
            is_vague=is_vague,
            expression=query[start:end],
        )
        return ParsedQuery(text=_remove_span(query, start, end), window=window)
    return None


def time_boost(occurred_at: datetime | None, window: TimeWindow) -> float:
    """How well a memory's time matches a window, in [0, 1].

    1 inside the window; outside it the boost falls as ``exp(-d / scale)`` with ``d`` the days
    to the nearest edge and ``scale`` the window's length clamped to [1, 30] days (7 days for a
    window with an open side). A memory with no time gets 0, so it is neither helped nor hurt
    beyond missing the boost.
    """
    if occurred_at is None:
        return 0.0
    at = utc(occurred_at)
    if window.contains(at):
        return 1.0
    if window.start is not None and at < window.start:
        distance = (window.start - at).total_seconds() / 86_400
    else:
        assert window.end is not None
        distance = (at - window.end).total_seconds() / 86_400
    if window.start is None or window.end is None:
        scale = OPEN_WINDOW_SCALE_DAYS
    else:
        scale = min(max((window.end - window.start).total_seconds() / 86_400, 1.0), 30.0)
    return math.exp(-distance / scale)


def time_filter(
    window: TimeWindow, *, mode: Literal["auto", "boost", "off"], margin_days: float
) -> TimeWindow | None:
    """The hard filter a window implies under ``RetrievalSettings.time_mode``, or ``None``.

    ``auto`` filters on explicit windows widened by ``margin_days`` on each closed side; vague
    windows, ``boost`` and ``off`` never filter (with ``off`` the caller should not parse at all).
    """
    if mode != "auto" or window.is_vague:
        return None
    return window.widened(timedelta(days=margin_days))
