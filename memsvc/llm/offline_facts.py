"""Rule-based fact extraction: one fact per statement, in the third person, with absolute dates.

Each turn is split into sentences; questions, greetings and reactions are skipped; a sentence
is kept when it says something about the speaker (first person, or an implied "I": "Gonna
continue my edu") or about a person named in the conversation. It is then rewritten in the third
person (:mod:`memsvc.llm.attribution`), its relative dates are made absolute from the turn's
time (:mod:`memsvc.llm.dates`), and a (subject, predicate, object) is read from it when one of
the common patterns fits (:mod:`memsvc.llm.slots`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memsvc.llm.attribution import third_person
from memsvc.llm.dates import resolve_relative_dates
from memsvc.llm.sentences import (
    content_words,
    is_filler,
    is_question,
    normalize,
    split_sentences,
    strip_interjections,
)
from memsvc.llm.slots import Triple, extract_triple, slot_of
from memsvc.types import FactCandidate, Turn

__all__ = [
    "Statement",
    "addressees",
    "candidate",
    "extract_facts_by_rules",
    "importance",
    "is_statement",
    "rewrite",
    "statements",
]

_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'll|I'd|me|my|mine|myself|we|our|us)\b", re.I)
_IMPLIED_START = re.compile(
    r"^(?:gonna|going to|been|just|finally|recently|got|went|started|finished|can't wait|"
    r"hoping|planning|trying|thinking|looking|working|heading|learning|studying|volunteering)\b",
    re.IGNORECASE,
)
_LIFE_EVENTS = re.compile(
    r"\b(?:married|engaged|divorc\w*|born|died|passed away|pregnan\w*|adopt\w*|graduat\w*|"
    r"moved|job|promot\w*|hired|fired|retir\w*|diagnos\w*|surgery|hospital|bought|house|"
    r"started|launched|founded|won|award\w*|degree|school|college|university|wedding|"
    r"birthday|anniversary|baby|kids?|children|husband|wife|partner|boyfriend|girlfriend)\b",
    re.IGNORECASE,
)
_FEELINGS_ONLY = re.compile(
    r"\b(?:feel|feels|felt|happy|glad|excited|thankful|grateful|proud|sad|stressed|awesome)\b",
    re.I,
)
_DATE_OR_NUMBER = re.compile(
    r"\b(?:\d+|January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b"
)
_MIN_WORDS = 4
# "Caroline, you're doing great": a name addressed at the start is not the subject.
_VOCATIVE = re.compile(r"^([A-Z][a-z]+),\s+")


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of a turn that states a fact, before it is rewritten."""

    turn: Turn
    sentence: str
    addressee: str | None


def addressees(turns: Sequence[Turn], context: Sequence[Turn] = ()) -> list[str | None]:
    """Who each turn of ``turns`` is addressed to: the nearest other speaker, earlier first."""
    everything = [*context, *turns]
    offset = len(context)
    out: list[str | None] = []
    for i in range(offset, len(everything)):
        speaker = everything[i].speaker
        earlier = (t.speaker for t in reversed(everything[:i]) if t.speaker != speaker)
        later = (t.speaker for t in everything[i + 1 :] if t.speaker != speaker)
        out.append(next(earlier, None) or next(later, None))
    return out


def is_statement(sentence: str, names: frozenset[str]) -> bool:
    """Whether ``sentence`` states something about the speaker or one of ``names``."""
    if is_question(sentence) or is_filler(sentence) or len(sentence.split()) < _MIN_WORDS:
        return False
    if _FIRST_PERSON.search(sentence) or _IMPLIED_START.match(sentence):
        return True
    first = re.match(r"[A-Z][\w'\u2019\-]*", sentence)
    return first is not None and first[0].removesuffix("'s").removesuffix("\u2019s") in names


def statements(turns: Sequence[Turn], context: Sequence[Turn] = ()) -> list[Statement]:
    """The sentences of ``turns`` that state something about someone, in order."""
    names = frozenset(t.speaker for t in (*context, *turns))
    out: list[Statement] = []
    for turn, addressee in zip(turns, addressees(turns, context), strict=True):
        for raw in split_sentences(turn.text):
            sentence = strip_interjections(raw)
            sentence = re.sub(r"^(?:you know|i mean|like)\s*,\s*", "", sentence, flags=re.I)
            sentence = _VOCATIVE.sub(lambda m: "" if m[1] in names else m[0], sentence)
            if sentence and is_statement(sentence, names):
                out.append(Statement(turn, sentence[:1].upper() + sentence[1:], addressee))
    return out


def importance(text: str, triple: Triple | None) -> float:
    """A 0..1 heuristic: life events, named slots, dates and names matter more than feelings."""
    score = 0.3
    if triple is not None:
        score += 0.3 if slot_of(triple.predicate) else 0.15
    if _LIFE_EVENTS.search(text):
        score += 0.2
    if _DATE_OR_NUMBER.search(text):
        score += 0.1
    if len(content_words(text)) >= 6:
        score += 0.05
    if triple is None and _FEELINGS_ONLY.search(text):
        score -= 0.1
    return round(min(1.0, max(0.05, score)), 3)


def rewrite(statement: Statement) -> str:
    """The statement in the third person, with absolute dates."""
    text = third_person(
        statement.sentence, speaker=statement.turn.speaker, addressee=statement.addressee
    )
    return resolve_relative_dates(text, statement.turn.occurred_at)


def candidate(statement: Statement, text: str) -> FactCandidate:
    """A :class:`FactCandidate` for ``text``, rewritten from ``statement``."""
    triple = extract_triple(text)
    return FactCandidate(
        text=text,
        source_event_ids=(statement.turn.event_id,),
        occurred_at=statement.turn.occurred_at,
        subject=triple.subject if triple else None,
        predicate=triple.predicate if triple else None,
        object=triple.object if triple else None,
        importance=importance(text, triple),
    )


def extract_facts_by_rules(
    turns: Sequence[Turn], context: Sequence[Turn] = ()
) -> list[FactCandidate]:
    """Atomic facts stated in ``turns``; duplicates within the run are dropped."""
    seen: set[str] = set()
    out: list[FactCandidate] = []
    for statement in statements(turns, context):
        text = rewrite(statement)
        key = normalize(text)
        if key in seen:
            continue
        seen.add(key)
        out.append(candidate(statement, text))
    return out
