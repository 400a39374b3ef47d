"""People named in a query: who the question is about, and a query without their names.

In a conversation memory the speakers' names are everywhere: every event is indexed as
``"Caroline: ..."`` and every fact extracted from it starts with ``Caroline``. A question such
as "What did Caroline research?" then embeds close to *anything* Caroline said, and the words
that carry the question ("research") are drowned. :func:`name_query` finds the scope's
speakers named in the query and rewrites them as neutral pronouns for the dense retriever
("What did they research?"), while the names are kept as a constraint: memories told by (or
about) the people named get a mild boost (:func:`speaker_match`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["NamedQuery", "name_query", "speaker_match"]


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """A query split into the speakers it names and its text with the names neutralised.

    ``neutral`` equals the original query when it names nobody, or when nothing but names
    would be left.
    """

    neutral: str
    names: tuple[str, ...]


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(name)}(?P<pos>'s|’s|s'|')?(?!\w)", re.IGNORECASE)


def name_query(query: str, speakers: Iterable[str]) -> NamedQuery:
    """Find ``speakers`` named in ``query`` and replace them with "they" / "their".

    Args:
        query: the search text.
        speakers: the names of the scope's speakers (case is ignored; names shorter than two
            characters are skipped).

    Returns:
        The named speakers, in the order of ``speakers``, and the neutral text.

    Example:
        ``name_query("What did Caroline's mum say?", ["Caroline", "Melanie"])`` gives
        ``NamedQuery("What did their mum say?", ("Caroline",))``.
    """
    named: list[str] = []
    text = query
    for name in sorted({s.strip() for s in speakers if len(s.strip()) >= 2}, key=len, reverse=True):
        pattern = _pattern(name)
        if not pattern.search(text):
            continue
        named.append(name)
        text = pattern.sub(lambda m: "their" if m["pos"] else "they", text)
    order = {s.strip(): i for i, s in enumerate(speakers)}
    named.sort(key=lambda n: order.get(n, len(order)))
    neutral = " ".join(text.split())
    if not re.search(r"\w", re.sub(r"\b(they|their)\b", "", neutral, flags=re.IGNORECASE)):
        neutral = query
    return NamedQuery(neutral=neutral, names=tuple(named))


def speaker_match(names: Sequence[str], *, speaker: str | None, text: str) -> bool:
    """Whether a memory was told by, or names, one of ``names``.

    Args:
        names: the people the query names.
        speaker: who told the memory (events), if known.
        text: the memory's text (facts and summaries name their subject).
    """
    if not names:
        return False
    if speaker is not None and any(speaker.lower() == n.lower() for n in names):
        return True
    return any(_pattern(n).search(text) for n in names)
