"""A ready-to-use context string from ranked hits, within a token budget.

Selection follows relevance: hits are taken best first while they fit. The first hit that does
not fit whole is **truncated** to the tokens left (ending in "…") when at least
``min_truncated_tokens`` remain, and selection **stops** there either way, so everything in the
context ranks above everything left out. Rendering follows time: the selected hits are grouped
by day in chronological order under a date header, each line naming its speaker, which is how a
reader follows a conversation. Undated hits come last, under "Undated:".

Tokens are whitespace-separated words, counted over the whole rendered string (headers
included); the result never exceeds the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from memsvc.types import Hit, MemoryRecord, utc

__all__ = ["BuiltContext", "ContextItem", "build_context"]

_ELLIPSIS = "…"
_UNDATED = "Undated:"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One hit as the context shows it."""

    text: str
    occurred_at: datetime | None = None
    speaker: str | None = None
    ref: str | None = None

    @classmethod
    def from_record(cls, record: MemoryRecord) -> ContextItem:
        """From a stored memory: its content, event time, speaker and public id."""
        return cls(
            text=record.content,
            occurred_at=record.occurred_at,
            speaker=record.speaker,
            ref=str(record.ref),
        )

    @classmethod
    def from_hit(cls, hit: Hit) -> ContextItem:
        """From a search hit (see :meth:`from_record`)."""
        return cls.from_record(hit.record)


@dataclass(frozen=True, slots=True)
class BuiltContext:
    """The context string and what went into it.

    Attributes:
        text: the rendered context ("" when nothing fit).
        included: indices into the input items, in the order they were selected.
        tokens: whitespace tokens in ``text`` (never above the budget).
        truncated: index of the item that was cut short, if any.
    """

    text: str
    included: tuple[int, ...]
    tokens: int
    truncated: int | None = None


def _header(day: date | None) -> str:
    if day is None:
        return _UNDATED
    return f"{day.day} {day.strftime('%B')} {day.year}:"


def _line_words(item: ContextItem, *, show_refs: bool) -> list[str]:
    words: list[str] = ["-"]
    if show_refs and item.ref:
        words.append(f"[{item.ref}]")
    if item.speaker:
        words.extend(f"{item.speaker}:".split())
    return words + item.text.split()


def _day_of(item: ContextItem) -> date | None:
    return None if item.occurred_at is None else utc(item.occurred_at).date()


def build_context(
    items: Sequence[ContextItem],
    *,
    max_tokens: int,
    show_refs: bool = False,
    min_truncated_tokens: int = 8,
) -> BuiltContext:
    """Render ``items`` (best first) into a context of at most ``max_tokens`` tokens.

    Args:
        items: the hits, best first.
        max_tokens: the budget in whitespace tokens.
        show_refs: prefix each line with the memory id (``[fact_12]``) for citations.
        min_truncated_tokens: the fewest text tokens worth keeping of a cut item.

    Returns:
        The context and the indices of the items in it.
    """
    if max_tokens < 1:
        raise ValueError("the context budget must be at least one token")
    used, days = 0, set[date | None]()
    chosen: list[tuple[int, list[str]]] = []
    truncated: int | None = None
    for index, item in enumerate(items):
        day = _day_of(item)
        header_cost = 0 if day in days else len(_header(day).split())
        words = _line_words(item, show_refs=show_refs)
        if used + header_cost + len(words) <= max_tokens:
            chosen.append((index, words))
            used += header_cost + len(words)
            days.add(day)
            continue
        room = max_tokens - used - header_cost
        prefix = len(words) - len(item.text.split())
        if room - prefix >= min_truncated_tokens:
            cut = [*words[: room - 1], words[room - 1] + _ELLIPSIS]
            chosen.append((index, cut))
            used += header_cost + len(cut)
            truncated = index
        break
    text = _render(items, chosen)
    return BuiltContext(text, tuple(i for i, _ in chosen), len(text.split()), truncated)


def _render(items: Sequence[ContextItem], chosen: Sequence[tuple[int, list[str]]]) -> str:
    def when(entry: tuple[int, list[str]]) -> tuple[bool, datetime, int]:
        at = items[entry[0]].occurred_at
        return (at is None, _EARLIEST if at is None else utc(at), entry[0])

    lines: list[str] = []
    current: object = object()
    for index, words in sorted(chosen, key=when):
        day = _day_of(items[index])
        if day != current:
            lines.append(_header(day))
            current = day
        lines.append(" ".join(words))
    return "\n".join(lines)
